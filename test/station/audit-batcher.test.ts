// The audit batcher: the workflow's events wait for other fixtures' events so that the trail commits
// several devices together, but never longer than the window, never once every device in progress
// is waiting, and never settle before the trail says they are durable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { AuditEventInput } from '../../src/audit/audit-types.ts';
import { AuditBatcher } from '../../src/station/audit-batcher.ts';

const ev = (fixture: string, step = 'identify'): AuditEventInput => ({ station: 'st-1', fixture, step, outcome: 'ok' });

/** A trail double: records hand-offs and lets the test settle them. */
function fakeTrail() {
  const handed: { event: AuditEventInput; settle: (e?: Error) => void }[] = [];
  return {
    handed,
    append(event: AuditEventInput): Promise<unknown> {
      if (event.step === 'bad') throw new Error('invalid event');
      return new Promise((resolve, reject) => handed.push({ event, settle: (e) => (e ? reject(e) : resolve(event)) }));
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));

test('events wait for the other devices in progress, then go to the trail together', async () => {
  const trail = fakeTrail();
  const b = new AuditBatcher(trail, { windowMs: 60_000, devicesInProgress: () => 2 });
  const first = [b.append(ev('f1')), b.append(ev('f1', 'register'))];
  await turn();
  assert.equal(trail.handed.length, 0, 'one of two devices waiting: held');
  const second = b.append(ev('f2'));
  await turn();
  assert.deepEqual(
    trail.handed.map((h) => `${h.event.fixture}:${h.event.step}`),
    ['f1:identify', 'f1:register', 'f2:identify'],
  );
  assert.deepEqual(b.stats(), { flushes: 1, events: 3 });
  for (const h of trail.handed) h.settle();
  await Promise.all([...first, second]);
});

test('a lone device does not wait at all', async () => {
  const trail = fakeTrail();
  const b = new AuditBatcher(trail, { windowMs: 60_000, devicesInProgress: () => 1 });
  const p = b.append(ev('f1'));
  await turn();
  assert.equal(trail.handed.length, 1);
  trail.handed[0].settle();
  await p;
});

test('held events go to the trail when the window ends', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const trail = fakeTrail();
  const b = new AuditBatcher(trail, { windowMs: 10, devicesInProgress: () => 8 });
  const p = b.append(ev('f1'));
  await Promise.resolve();
  mock.timers.tick(9);
  assert.equal(trail.handed.length, 0);
  mock.timers.tick(1);
  assert.equal(trail.handed.length, 1);
  trail.handed[0].settle();
  await p;
});

test('an append settles only when the trail settles it, and fails as the trail fails it', async () => {
  const trail = fakeTrail();
  const b = new AuditBatcher(trail, { windowMs: 60_000, devicesInProgress: () => 0 });
  let done = false;
  const ok = b.append(ev('f1')).then(() => {
    done = true;
  });
  const failed = assert.rejects(b.append(ev('f1', 'record')), /disk full/);
  const invalid = assert.rejects(b.append(ev('f1', 'bad')), /invalid event/);
  await turn();
  assert.equal(trail.handed.length, 2);
  assert.equal(done, false, 'not durable yet: not settled');
  trail.handed[0].settle();
  trail.handed[1].settle(new Error('disk full'));
  await ok;
  assert.equal(done, true);
  await failed;
  await invalid;
});

test('flushNow hands over what is held at once', async () => {
  const trail = fakeTrail();
  const b = new AuditBatcher(trail, { windowMs: 60_000, devicesInProgress: () => 5 });
  const p = b.append(ev('f1'));
  await turn();
  b.flushNow();
  assert.equal(trail.handed.length, 1);
  trail.handed[0].settle();
  await p;
});

test('with a real trail, the events of several devices share one commit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-batcher-'));
  const trail = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: 'st-1' });
  t.after(() => {
    trail.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // A commit tells its listeners in one synchronous pass: one group per commit.
  const commits: string[][] = [];
  let open: string[] | undefined;
  t.after(
    trail.onAppend((e) => {
      if (!open) {
        open = [];
        commits.push(open);
        queueMicrotask(() => {
          open = undefined;
        });
      }
      open.push(`${e.fixture}:${e.step}`);
    }),
  );
  const b = new AuditBatcher(trail, { windowMs: 60_000, devicesInProgress: () => 3 });
  const all: Promise<unknown>[] = [];
  for (const f of ['f1', 'f2']) {
    all.push(b.append(ev(f)), b.append(ev(f, 'register')));
    await turn();
  }
  assert.equal(trail.query({}).length, 0, 'two of three devices waiting: nothing committed yet');
  all.push(b.append(ev('f3')));
  await Promise.all(all);
  assert.deepEqual(commits, [['f1:identify', 'f1:register', 'f2:identify', 'f2:register', 'f3:identify']]);
});
