// `imprint device-test PORT`: the conformance kit for firmware teams (docs/device-protocol.md,
// section 10). Exit codes (exit-codes.ts): 0 no rule failed, 8 at least one rule failed; errors as
// every command (1, e.g. the port cannot be opened; 2 bad usage).
import type { Command } from 'commander';
import { CommonError } from '../common/common-errors.ts';
import { formatKitReport } from '../serial/conformance/kit-report.ts';
import { runDeviceKit } from '../serial/conformance/run-device-kit.ts';
import { closePort, DEFAULT_BAUD_RATE, openDevicePort } from '../serial/ports.ts';
import { EXIT } from './exit-codes.ts';

function whole(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CommonError('INVALID_ARGUMENT', `${name}: expected an integer from ${min} to ${max}`);
  return n;
}

interface DeviceTestOptions {
  destructive?: boolean;
  json?: boolean;
  baud: string;
  slack: string;
  timeout: string;
}

export function registerDeviceTestCommands(program: Command): void {
  program
    .command('device-test <port>')
    .description('check the device on PORT against the device protocol: one pass/fail line per rule, with its frames')
    .option('--destructive', 'also send WRITE, LOCK, CONFIG and RESET: only on a device meant for tests')
    .option('--json', 'print the report as JSON (for a firmware CI)')
    .option('--baud <n>', 'baud rate', String(DEFAULT_BAUD_RATE))
    .option('--slack <ms>', 'added to every time limit (a slow adapter, a loaded host)', '0')
    .option('--timeout <ms>', 'how long past its time limit to wait for a reply that does not come', '1000')
    .action(async (port: string, opts: DeviceTestOptions) => {
      const kit = {
        port,
        destructive: opts.destructive === true,
        slackMs: whole(opts.slack, '--slack', 0, 60_000),
        timeoutMs: whole(opts.timeout, '--timeout', 10, 60_000),
      };
      const stream = await openDevicePort(port, { baudRate: whole(opts.baud, '--baud', 50, 4_000_000) });
      let report: Awaited<ReturnType<typeof runDeviceKit>>;
      try {
        report = await runDeviceKit(stream, kit);
      } finally {
        await closePort(stream);
      }
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatKitReport(report));
      process.exitCode = report.counts.fail > 0 ? EXIT.RULE_FAILED : EXIT.OK;
    });
}
