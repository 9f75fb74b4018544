// `imprint serial …` (ports, probe a device, watch a scanner) and `imprint sim …` (the device and
// scanner simulators, which live in src/sim/ and load only when asked for).
import type { Command } from 'commander';
import { CommonError } from '../common/common-errors.ts';
import { describeError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { createDeviceClient } from '../serial/device-client.ts';
import { parseLabel } from '../serial/label-parser.ts';
import { closePort, DEFAULT_BAUD_RATE, listPorts, openDevicePort } from '../serial/ports.ts';
import { DEFAULT_SCANNER_BAUD_RATE, ScannerReader } from '../serial/scanner-reader.ts';

function int(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CommonError('INVALID_ARGUMENT', `${name}: expected an integer from ${min} to ${max}`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerSerialCommands(program: Command): void {
  const serial = program.command('serial').description('serial ports: list them, probe a device, watch a scanner');

  serial
    .command('ports')
    .description('list serial ports (the OS list plus --path entries, e.g. PTYs)')
    .option('--path <path>', 'also list this configured path (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(async (opts: { path: string[]; json?: boolean }) => {
      const ports = await listPorts(opts.path);
      if (opts.json) {
        console.log(JSON.stringify(ports, null, 2));
        return;
      }
      if (ports.length === 0) console.log('No serial ports found.');
      for (const p of ports) {
        const what = [
          p.manufacturer,
          p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : undefined,
          p.serialNumber,
          p.configured ? 'configured' : undefined,
        ];
        console.log(`${p.path}${what.some(Boolean) ? `  (${what.filter(Boolean).join(', ')})` : ''}`);
      }
    });

  serial
    .command('probe <path>')
    .description('ask a device on PATH for its hello, identity and storage status (writes nothing)')
    .option('--baud <n>', 'baud rate', String(DEFAULT_BAUD_RATE))
    .option('--timeout <ms>', 'reply timeout per attempt', '500')
    .option('--retries <n>', 'retransmissions per request', '3')
    .option('--verbose', 'log every frame (secrets are never sent by probe, and redacted anyway)')
    .option('--json', 'print JSON')
    .action(async (path: string, opts: { baud: string; timeout: string; retries: string; verbose?: boolean; json?: boolean }) => {
      const logger = createLogger({ name: 'serial', level: opts.verbose ? 'debug' : 'warn' });
      const port = await openDevicePort(path, { baudRate: int(opts.baud, '--baud', 50, 4_000_000) });
      const client = createDeviceClient(port, {
        timeoutMs: int(opts.timeout, '--timeout', 1, 60_000),
        retries: int(opts.retries, '--retries', 0, 20),
        logger,
        label: path,
      });
      try {
        const hello = await client.hello();
        const identity = await client.identity();
        const storage = await client.storageStatus();
        if (opts.json) console.log(JSON.stringify({ path, hello, identity, storage }, null, 2));
        else {
          console.log(
            `${path}: ${hello.model} firmware ${hello.firmware}, protocol v${hello.protocolVersion}, capabilities ${hello.capabilities.join(',') || '(none)'}`,
          );
          console.log(
            `  hardware serial ${identity.hardwareSerial}${identity.deviceId ? `, device id ${identity.deviceId}` : ''}`,
          );
          console.log(`  secure storage ${storage.state}${'digest' in storage ? ` (sha256 ${storage.digest})` : ''}`);
        }
      } finally {
        await client.close();
      }
    });

  serial
    .command('scan <path>')
    .description('print what a serial barcode scanner on PATH reads, parsed as labels (Ctrl-C to stop)')
    .option('--baud <n>', 'baud rate', String(DEFAULT_SCANNER_BAUD_RATE))
    .option('--prefix <s>', 'strip this prefix')
    .option('--suffix <s>', 'strip this suffix')
    .option('--debounce <ms>', 'ignore the same read again within this window', '1500')
    .action(async (path: string, opts: { baud: string; prefix?: string; suffix?: string; debounce: string }) => {
      const port = await openDevicePort(path, { baudRate: int(opts.baud, '--baud', 50, 4_000_000) });
      const reader = new ScannerReader(port, {
        prefix: opts.prefix,
        suffix: opts.suffix,
        debounceMs: int(opts.debounce, '--debounce', 0, 600_000),
      });
      reader.on('scan', (read) => {
        try {
          const label = parseLabel(read.text, { symbology: read.symbology });
          console.log(`${read.at}  ${label.kind} ${label.value}${label.gtin ? ` (gtin ${label.gtin})` : ''}`);
        } catch (e) {
          console.log(`${read.at}  ${describeError(e)}`);
        }
      });
      console.error(`Reading ${path}; Ctrl-C to stop.`);
      await new Promise<void>((done) => {
        port.once('close', () => done());
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await closePort(port);
    });

  const sim = program.command('sim').description('simulators: a device on its programming port, a barcode scanner');
  sim
    .command('device')
    .description('run the device simulator on a port (same as `imprint-sim`; --help for its options)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { runDeviceSim } = await import('../sim/device-sim-program.ts');
      process.exitCode = await runDeviceSim(args);
    });
  sim
    .command('scanner')
    .description('write label reads to a port like a serial barcode scanner (--help for its options)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { runScannerSim } = await import('../sim/scanner-sim-program.ts');
      process.exitCode = await runScannerSim(args);
    });
}
