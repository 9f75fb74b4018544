// The post-PASS hook: a command the plant configures (e.g. to tell its MES), run after each PASS
// with the device's non-secret fields in its environment and as JSON on its standard input. It
// gets a clean environment: nothing of the station's own (which may hold an admin PIN or tokens).
import { spawn } from 'node:child_process';
import type { PostPassHookSettings } from './plant-types.ts';

export interface HookFields {
  deviceId?: string;
  hardwareSerial?: string;
  batchId?: string;
  workOrder?: string;
  operator?: string;
  station: string;
  fixture: string;
  secretFingerprint?: string;
}

export interface HookResult {
  ok: boolean;
  exitCode?: number;
  /** Why it failed (the end of its stderr, a timeout, a missing program). */
  message?: string;
}

export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;

/** Only what a program needs to start; the rest of the station's environment stays out. */
const PASSED_THROUGH = ['PATH', 'HOME', 'LANG', 'TZ', 'SYSTEMROOT', 'TEMP', 'TMP'];

export function hookEnvironment(fields: HookFields): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED_THROUGH) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  const add = (k: string, v: string | undefined) => {
    if (v !== undefined) env[k] = v;
  };
  add('IMPRINT_DEVICE_ID', fields.deviceId);
  add('IMPRINT_SERIAL', fields.hardwareSerial);
  add('IMPRINT_BATCH', fields.batchId);
  add('IMPRINT_WORK_ORDER', fields.workOrder);
  add('IMPRINT_OPERATOR', fields.operator);
  add('IMPRINT_STATION', fields.station);
  add('IMPRINT_FIXTURE', fields.fixture);
  add('IMPRINT_SECRET_FINGERPRINT', fields.secretFingerprint);
  return env;
}

export function runPostPassHook(hook: PostPassHookSettings, fields: HookFields): Promise<HookResult> {
  const timeoutMs = hook.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  return new Promise((resolve) => {
    const [program, ...args] = hook.command;
    const child = spawn(program, args, { env: hookEnvironment(fields), stdio: ['pipe', 'ignore', 'pipe'], shell: false });
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `${program} could not be started: ${e.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ ok: false, message: `killed after ${timeoutMs} ms (timeoutMs)` });
      if (code === 0) return resolve({ ok: true, exitCode: 0 });
      const tail = stderr.trim().split('\n').at(-1);
      resolve({ ok: false, exitCode: code ?? undefined, message: tail ? `exited with ${code}: ${tail}` : `exited with ${code}` });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(`${JSON.stringify(fields)}\n`);
  });
}
