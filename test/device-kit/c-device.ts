// The C reference device (firmware/reference) for tests: built once per process with the machine's
// cc into a temp dir, then run as a process that opens its own PTY (posix_openpt).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../firmware/reference/', import.meta.url));
export const C_SOURCES = ['imprint_device.c', 'sha256.c', 'host/hal_posix.c', 'host/main.c'];
export const C_FLAGS = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Wpedantic', '-Werror'];

let built: { dir: string; binary: string } | undefined;

/** Compile the reference device (warnings are errors); returns the binary's path. */
export function buildCDevice(): string {
  if (built) return built.binary;
  const dir = mkdtempSync(join(tmpdir(), 'imprint-cdev-'));
  const binary = join(dir, 'imprint-device');
  execFileSync('cc', [...C_FLAGS, '-o', binary, ...C_SOURCES.map((s) => join(SOURCE, s))], { stdio: 'pipe' });
  built = { dir, binary };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return binary;
}

export interface CDeviceOptions {
  serial: string;
  mac?: string;
  max?: number;
  programMs?: number;
  allowReset?: boolean;
}

export interface CDevice {
  /** The port a station opens (a link to the PTY slave). */
  readonly path: string;
  readonly otpFile: string;
  stop(): Promise<void>;
}

export async function startCDevice(opts: CDeviceOptions): Promise<CDevice> {
  const binary = buildCDevice();
  const dir = mkdtempSync(join(tmpdir(), 'imprint-cdev-run-'));
  const path = join(dir, 'tty');
  const otpFile = join(dir, 'otp.bin');
  const args = ['--link', path, '--serial', opts.serial, '--otp', otpFile, '--config', join(dir, 'config.bin')];
  if (opts.mac) args.push('--mac', opts.mac);
  if (opts.max) args.push('--max', String(opts.max));
  if (opts.programMs) args.push('--program-ms', String(opts.programMs));
  if (opts.allowReset) args.push('--allow-reset');
  const proc: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('imprint-device: ready')) resolve();
    });
    void exited.then(() => reject(new Error(`the C device exited before it was ready: ${out}`)));
  });
  return {
    path,
    otpFile,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
