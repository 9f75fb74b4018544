// A remote pairing core in its own process (`imprint pairing serve`) on a fixed 127.0.0.1 port, so
// that it can be killed and started again at the same URL; and the CLI as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';

export const BIN = fileURLToPath(new URL('../../bin/imprint.mjs', import.meta.url));

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A remote core's data dir with one realm (created before its server starts). */
export async function createRemoteRealm(dir: string, realm: string, publicKeyPem: string): Promise<void> {
  const core = await EmbeddedPairingCore.open({ dataDir: dir });
  await core.createRealm({ name: realm, publicKeyPem });
  await core.close();
}

export class RemoteProcess {
  #child: ChildProcess | undefined;
  readonly url: string;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'pairing', 'serve', '--data', this.dir, '--port', String(this.port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, IMPRINT_LOG_LEVEL: 'error' },
    });
    this.#child = child;
    let err = '';
    child.stderr?.on('data', (d) => {
      if (err.length < 4000) err += d;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`remote did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`remote exited with ${code}: ${err}`));
      });
    });
  }

  /** SIGKILL: the connection is cut wherever the remote was (a crash or a cable pulled). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  }
}

/** Run the CLI to completion (bounded). */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`imprint ${args.join(' ')} timed out: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
