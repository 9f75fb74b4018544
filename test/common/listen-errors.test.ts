// A port already taken (or not allowed, or an address not on this machine) is one line that names
// the port and the option to change it, exit 1, no stack trace: for `imprint web` and for
// `imprint pairing serve`, run as a person would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImprintError } from '../../src/common/errors.ts';
import { LISTEN_FAILURES, listenFailure } from '../../src/common/listen-errors.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code}: address already in use 127.0.0.1:4173`), { code, syscall: 'listen' });
}

/** Run `imprint …` to its end; stdout, stderr and exit code. */
function imprint(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'imprint.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('listen errors', () => {
  test('each errno becomes one sentence naming the address and the option to use', () => {
    const target = { host: '127.0.0.1', port: 80, portOption: '--port', hostOption: '--host' };
    const inUse = listenFailure(errno('EADDRINUSE'), target);
    assert.ok(inUse instanceof ImprintError);
    assert.equal(inUse.code, 'PORT_IN_USE');
    assert.equal(
      inUse.message,
      'Port 80 on 127.0.0.1 is already in use: choose another with --port (--port 0 picks a free one), or stop what is using it.',
    );
    const denied = listenFailure(errno('EACCES'), target);
    assert.equal(denied?.code, 'PORT_DENIED');
    assert.equal(denied?.message, 'This user may not listen on port 80 of 127.0.0.1: choose a port from 1024 up with --port.');
    const away = listenFailure(errno('EADDRNOTAVAIL'), { ...target, host: '10.9.9.9' });
    assert.equal(away?.code, 'BAD_ADDRESS');
    assert.match(away?.message ?? '', /^10\.9\.9\.9 is not an address of this machine: choose one that is with --host/);
    // A server layer that already named the failure gets the same sentence.
    assert.equal(
      listenFailure(new ImprintError('PORT_IN_USE', 'Port 80 on 127.0.0.1 is already in use'), target)?.message,
      inUse.message,
    );
    assert.equal(listenFailure(new Error('something else'), target), undefined);
    assert.equal(listenFailure(errno('ECONNRESET'), target), undefined);
    for (const [code, f] of Object.entries(LISTEN_FAILURES)) {
      const e = listenFailure(errno(f.codes[0]), target);
      assert.equal(e?.code, code);
      assert.equal(e?.message.split('\n').length, 1, `${code} is one line`);
    }
  });

  describe('a port already taken, from the command line', () => {
    let blocker: Server;
    let port = 0;
    let data: string;
    before(async () => {
      data = mkdtempSync(join(tmpdir(), 'imprint-listen-'));
      blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
      const addr = blocker.address();
      port = typeof addr === 'object' && addr ? addr.port : 0;
    });
    after(async () => {
      await new Promise((r) => blocker.close(r));
      rmSync(data, { recursive: true, force: true });
    });

    const oneLine = (stderr: string) => {
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
      assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
      return lines[0];
    };

    test('imprint web --port P', async () => {
      const r = await imprint(['web', '--port', String(port), '--data', join(data, 'station')], { IMPRINT_ADMIN_PIN: '482915' });
      assert.equal(r.code, 1);
      assert.equal(
        oneLine(r.stderr),
        `imprint: PORT_IN_USE: Port ${port} on 127.0.0.1 is already in use: choose another with --port (--port 0 picks a free one), or stop what is using it.`,
      );
      assert.doesNotMatch(r.stdout, /Open:/, 'no URL printed');
    });

    test('imprint pairing serve --port P', async () => {
      const r = await imprint(['pairing', 'serve', '--port', String(port), '--data', join(data, 'core')], {});
      assert.equal(r.code, 1);
      assert.equal(
        oneLine(r.stderr),
        `imprint: PORT_IN_USE: Port ${port} on 127.0.0.1 is already in use: choose another with --port (--port 0 picks a free one), or stop what is using it.`,
      );
    });
  });
});
