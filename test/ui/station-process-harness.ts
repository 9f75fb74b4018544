// Start test/ui/station-process.ts as a child process and wait for its READY line.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { withTimeout } from './station-harness.ts';

const SCRIPT = join(import.meta.dirname, 'station-process.ts');

export interface StationProcess {
  child: ChildProcess;
  port: number;
  /** The session token it serves (kept in the data folder across restarts). */
  token: string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

export async function startStationProcess(env: { data: string; port?: number; newToken?: boolean }): Promise<StationProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: {
      ...process.env,
      IMPRINT_TEST_DATA: env.data,
      IMPRINT_TEST_PORT: String(env.port ?? 0),
      IMPRINT_TEST_NEW_TOKEN: env.newToken ? '1' : '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const { port, token } = await withTimeout(
    new Promise<{ port: number; token: string }>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
        const m = /READY (\d+) (\S+)\n/.exec(out);
        if (m) resolve({ port: Number(m[1]), token: m[2] });
      });
      child.once('exit', (code) => reject(new Error(`the station process exited (code ${code}) before it was ready`)));
    }),
    120_000,
    'the station process did not start within 120 s',
  );
  return {
    child,
    port,
    token,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
