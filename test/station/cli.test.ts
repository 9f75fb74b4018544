// `imprint station run | status` as a script would use them: JSON summaries and exit codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from './station-harness.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function imprint(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/imprint.mjs'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, IMPRINT_LOG_LEVEL: 'error' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function data(): string {
  const d = tempDir('imprint-cli-');
  dirs.push(d);
  return d;
}

test('station run: JSON summary and exit codes 0 (all passed), 4 (some failed), 2 (bad usage)', async () => {
  const ok = data();
  const faulty = data();
  const [pass, fail, usage1, usage2] = await Promise.all([
    imprint([
      'station',
      'run',
      '--simulate',
      '2',
      '--count',
      '4',
      '--in-process',
      '--json',
      '--data',
      ok,
      '--batch',
      'WO-1',
      '--operator',
      'ann',
    ]),
    imprint([
      'station',
      'run',
      '--simulate',
      '2',
      '--count',
      '4',
      '--in-process',
      '--json',
      '--data',
      faulty,
      '--fault-rate',
      '1',
      '--seed',
      '5',
    ]),
    imprint(['station', 'run', '--simulate', '0', '--data', data()]),
    imprint(['station', 'run', '--simulate', '2', '--config', 'x.json', '--data', data()]),
  ]);
  assert.equal(pass.code, 0, pass.stderr);
  const summary = JSON.parse(pass.stdout);
  assert.equal(summary.done, 4);
  assert.equal(summary.passed, 4);
  assert.equal(summary.simulated, true);
  assert.ok(summary.devicesPerHour > 0);
  assert.equal(summary.batch.workOrder, 'WO-1');
  assert.ok(summary.batch.closedAt, 'a --count run closes its batch with a signed summary');

  assert.equal(fail.code, 4, fail.stderr);
  const failed = JSON.parse(fail.stdout);
  assert.ok(failed.failed > 0);
  assert.equal(
    Object.values(failed.failuresByCode as Record<string, number>).reduce((a, b) => a + b, 0),
    failed.failed,
  );

  assert.equal(usage1.code, 2, usage1.stderr);
  assert.match(usage1.stderr, /--simulate/);
  assert.equal(usage2.code, 2, usage2.stderr);
  assert.match(usage2.stderr, /cannot be used together/);

  const status = await imprint(['station', 'status', '--json', '--data', ok]);
  assert.equal(status.code, 0, status.stderr);
  const st = JSON.parse(status.stdout);
  assert.deepEqual(st.pending, []);
  assert.equal(st.devices.provisioned, 4);
  assert.ok(st.auditEvents > 0);
});
