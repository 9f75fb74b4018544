// A fleet as plant IT would run it: realms created with the CLI on a fresh PostgreSQL schema, the
// keys copied from the first instance's data directory to the others, and `imprint pairing serve
// --store postgres://…` processes on free ports of 127.0.0.1.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRealmKeyPair, mintAgentToken } from '../../src/pairing/agent-token.ts';
import { freshSchema, type TestSchema } from '../helpers/pg-test-db.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/imprint.mjs');
export const FACTORY = 'acme-plant';

export function imprint(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn', IMPRINT_PAIRING_STORE: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Instance {
  url: string;
  child: ChildProcess;
  stderr(): string;
}

export interface Fleet {
  schema: TestSchema;
  root: string;
  /** Data directories holding each instance's keys (the same CA and claim key in each). */
  dataDir(i: number): string;
  agentToken: string;
  start(i: number, extra?: string[]): Promise<Instance>;
  close(): Promise<void>;
}

/** Realms `test` (no limit), `lim` (limit `limit`), `fio` (factory, for /sign) on a fresh schema. */
export async function makeFleet(opts: { limit: number; instances: number }): Promise<Fleet> {
  const schema = await freshSchema('fleet');
  const root = mkdtempSync(join(tmpdir(), 'imprint-fleet-'));
  const keys = generateRealmKeyPair();
  const pub = join(root, 'realm-public.pem');
  writeFileSync(pub, keys.publicKeyPem);
  const dirs = Array.from({ length: opts.instances }, (_, i) => join(root, `instance-${i}`));
  const cli = (args: string[]) => {
    const r = imprint([...args, '--store', schema.url, '--data', dirs[0]]);
    if (r.code !== 0) throw new Error(`imprint ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  cli(['pairing', 'realm', 'create', 'test', '--public-key', pub]);
  cli(['pairing', 'realm', 'create', 'lim', '--public-key', pub, '--limit', String(opts.limit)]);
  cli(['pairing', 'realm', 'create', 'fio', '--public-key', pub, '--factory', FACTORY]);
  // The first CLI run made the CA (and a claim token, the claim key): every instance gets copies.
  cli(['pairing', 'claim-token', 'list', 'test']);
  for (const d of dirs.slice(1)) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    cpSync(join(dirs[0], 'ca'), join(d, 'ca'), { recursive: true });
    cpSync(join(dirs[0], 'claim-signing-key.pem'), join(d, 'claim-signing-key.pem'));
  }
  const children: ChildProcess[] = [];
  return {
    schema,
    root,
    dataDir: (i) => dirs[i],
    agentToken: await mintAgentToken({ privateKey: keys.privateKeyPem, ttlSeconds: 3600 }),
    async start(i, extra = []) {
      const child = spawn(
        process.execPath,
        [BIN, 'pairing', 'serve', '--store', schema.url, '--data', dirs[i], '--port', '0', '--sign-realm', 'fio', ...extra],
        { cwd: ROOT, env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let out = '';
      let err = '';
      child.stderr?.on('data', (d) => {
        err += d;
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`instance ${i} did not start: ${err}`)), 60_000);
        child.stdout?.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`instance ${i} exited (${code}): ${err}`));
        });
      });
      return { url, child, stderr: () => err };
    },
    async close() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(
        children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))),
      );
      await schema.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  body: any;
  text: string;
  error?: string;
}

/** One request on a fresh connection, as devices make them. */
export async function call(
  base: string,
  method: string,
  path: string,
  o: { auth?: string; body?: unknown; raw?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { connection: 'close' };
  if (o.auth) headers.authorization = `Bearer ${o.auth}`;
  const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed, text, error: res.headers.get('x-imprint-error') ?? undefined };
}
