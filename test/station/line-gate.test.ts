// The line gate: a station fault pauses the line once, the failed step is retried with backoff,
// every waiting step goes on when a retry succeeds, and a stop ends the waits cleanly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ImprintError } from '../../src/common/errors.ts';
import { PairingError } from '../../src/pairing/pairing-api.ts';
import { LINE_FAULTS, lineFaultOf } from '../../src/station/line-faults.ts';
import { type LineChange, LineGate, LineInterrupted } from '../../src/station/line-gate.ts';

const diskFull = () =>
  new ImprintError('AUDIT_WRITE_FAILED', 'audit trail write failed: database or disk is full', {
    cause: new Database.SqliteError('database or disk is full', 'SQLITE_FULL'),
  });

function gate() {
  const changes: LineChange[] = [];
  const g = new LineGate({ firstRetryMs: 20, maxRetryMs: 40, onChange: (c) => changes.push(c) });
  return { g, changes };
}

test('station faults are told apart from device answers', () => {
  assert.equal(lineFaultOf(diskFull(), 'audit')?.code, 'STATION_STORAGE_FULL');
  const enospc = new ImprintError('VAULT_WRITE_FAILED', 'x', { cause: Object.assign(new Error('no space'), { code: 'ENOSPC' }) });
  assert.equal(lineFaultOf(enospc, 'vault')?.code, 'STATION_STORAGE_FULL');
  assert.equal(
    lineFaultOf(new Database.SqliteError('attempt to write a readonly database', 'SQLITE_READONLY'), 'registry')?.code,
    'STATION_STORAGE_READONLY',
  );
  assert.equal(
    lineFaultOf(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_FSYNC'), 'registry')?.code,
    'STATION_STORAGE_ERROR',
  );
  assert.equal(
    lineFaultOf(new Database.SqliteError('file is not a database', 'SQLITE_NOTADB'), 'data')?.code,
    'STATION_STORAGE_DAMAGED',
  );
  assert.equal(lineFaultOf(new PairingError('INVALID_TOKEN'), 'pairing')?.code, 'AGENT_TOKEN_REFUSED');
  assert.equal(lineFaultOf(new PairingError('TOKEN_REFUSED'), 'pairing')?.code, 'AGENT_TOKEN_REFUSED');
  assert.equal(
    lineFaultOf(new PairingError('UNREACHABLE', { message: 'no answer' }), 'pairing')?.code,
    'PAIRING_CORE_UNREACHABLE',
  );
  assert.equal(lineFaultOf(new PairingError('REGISTRATION_LIMIT'), 'pairing')?.code, 'REGISTRATION_LIMIT_REACHED');
  // The device's own answers are not station faults.
  assert.equal(lineFaultOf(new PairingError('ALREADY_REGISTERED'), 'pairing'), undefined);
  assert.equal(lineFaultOf(new ImprintError('TIMEOUT', 'device timed out'), 'audit'), undefined);
  // A store that failed to commit is the station's storage even without a known cause.
  assert.equal(lineFaultOf(new ImprintError('STORE_WRITE_FAILED', 'could not commit'), 'pairing')?.code, 'STATION_STORAGE_ERROR');
});

test('a fault pauses the line once; the step is retried until it holds, then every waiting step goes on', async () => {
  const { g, changes } = gate();
  let full = true;
  let attempts = 0;
  const write = () => {
    attempts++;
    if (full) throw diskFull();
    return 'written';
  };
  const first = g.guard('audit', write);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(g.pause?.fault.code, 'STATION_STORAGE_FULL');
  // Steps arriving during the pause do not run: they wait (a registration too, for a storage fault).
  let registered = false;
  const second = g.guard('pairing', () => {
    registered = true;
    return 'registered';
  });
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(registered, false, 'nothing is registered while the station cannot record');
  assert.ok(attempts >= 2, `retried with backoff (${attempts} attempts)`);
  full = false;
  assert.equal(await first, 'written');
  assert.equal(await second, 'registered');
  assert.equal(g.pause, undefined);
  assert.equal(changes.filter((c) => c === 'paused').length, 1, 'paused once');
  assert.equal(changes.at(-1), 'resumed');
  assert.ok(g.pausedMs > 0);
});

test('a pairing fault holds registrations only: recording goes on', async () => {
  const { g } = gate();
  let down = true;
  const register = g.guard('pairing', () => {
    if (down) throw new PairingError('UNREACHABLE', { message: 'no answer' });
    return 'secret';
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(g.pause?.fault.code, 'PAIRING_CORE_UNREACHABLE');
  assert.equal(await g.guard('audit', () => 'recorded'), 'recorded');
  down = false;
  assert.equal(await register, 'secret');
});

test('stop ends the steps waiting in a pause with LineInterrupted; a gate that does not wait throws at once', async () => {
  const { g, changes } = gate();
  const waiting = g.guard('vault', () => {
    throw diskFull();
  });
  await new Promise((r) => setTimeout(r, 5));
  g.stop();
  await assert.rejects(waiting, (e: unknown) => e instanceof LineInterrupted && e.fault?.code === 'STATION_STORAGE_FULL');
  assert.equal(changes.at(-1), 'stopped');
  const oneShot = new LineGate({ wait: false });
  await assert.rejects(
    oneShot.guard('audit', () => {
      throw diskFull();
    }),
    LineInterrupted,
  );
});

test('an answer that is not a station fault ends the pause (the core took the token) and is thrown as is', async () => {
  const { g } = gate();
  let refused = true;
  const register = g.guard('pairing', () => {
    if (refused) throw new PairingError('INVALID_TOKEN');
    throw new PairingError('ALREADY_REGISTERED');
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(g.pause?.fault.code, 'AGENT_TOKEN_REFUSED');
  refused = false;
  await assert.rejects(register, (e: unknown) => (e as PairingError).code === 'ALREADY_REGISTERED');
  assert.equal(g.pause, undefined);
});

test('every line fault has a message and an action, and docs/station.md lists it with both', () => {
  const doc = readFileSync(new URL('../../docs/station.md', import.meta.url), 'utf8');
  for (const [code, f] of Object.entries(LINE_FAULTS)) {
    assert.ok(
      doc.includes(`| \`${code}\` | ${f.message} | ${f.action} |`),
      `docs/station.md: row for ${code} missing or out of date`,
    );
  }
});
