import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';

const CHILD = new URL('../helpers/pairing-register-child.ts', import.meta.url).pathname;

test('every registration acknowledged before a SIGKILL is still there after reopening', async () => {
  const dataDir = makeTempDir();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  try {
    const acked: [string, string][] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child gave ${acked.length} acks in 30 s: ${stderr}`)), 30_000);
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked.push(l.split(' ') as [string, string]);
        if (acked.length >= 500) {
          // Killed mid-flight: later registrations may be half done, acknowledged ones must not be.
          child.kill('SIGKILL');
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        if (acked.length < 500) reject(new Error(`child exited early: ${stderr}`));
      });
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    const core = await EmbeddedPairingCore.open({ dataDir });
    try {
      for (const [id, secret] of acked) assert.equal((await core.getInfo('crash', id, secret)).status, 'pending');
    } finally {
      await core.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
