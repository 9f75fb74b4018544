// `imprint audit verify --store postgres://…`: the PostgreSQL core's own audit chain, appended by two
// instances at once, verifies; each way plant IT's database could be altered afterwards (an edited
// body, a body re-sealed with its hash, a deleted row, a cut tail, an edited search column, a forged
// row, a deleted head) is found and named at the right event. Tampering needs the append-only trigger
// off, which the table's owner can do: that is the attack. Fails, never skips, without PostgreSQL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAnchorArgument } from '../../src/audit/audit-anchor.ts';
import type { AuditEvent, ChainStatus } from '../../src/audit/audit-types.ts';
import { hashBody } from '../../src/audit/chain-link.ts';
import { PAIRING_CORE_STATION } from '../../src/pairing/core-audit.ts';
import { verifyPgCoreAuditAt } from '../../src/pairing/store/pg-core-audit-verify.ts';
import { PostgresPairingStore } from '../../src/pairing/store/pg-store.ts';
import { freshSchema, type TestSchema, withAdmin } from '../helpers/pg-test-db.ts';

const BIN = join(import.meta.dirname, '../../bin/imprint.mjs');
const EVENTS = 40;
const schemas: TestSchema[] = [];

after(async () => {
  for (const s of schemas) await s.drop();
});

/** A fresh schema whose core chain two instances appended EVENTS events to, concurrently. */
async function chain(): Promise<{ schema: TestSchema; events: AuditEvent[] }> {
  const schema = await freshSchema('coreaudit');
  schemas.push(schema);
  const stores = await Promise.all([0, 1].map(() => PostgresPairingStore.connect({ url: schema.url, poolSize: 2 })));
  try {
    const events = (await Promise.all(
      Array.from({ length: EVENTS }, (_, i) =>
        stores[i % 2].coreAudit.append({
          station: PAIRING_CORE_STATION,
          step: 'claim',
          outcome: i % 7 === 3 ? 'fail' : 'ok',
          deviceId: `dev${i}`,
          message: `claim ${i}`,
          data: { realm: 'r', use: i },
        }),
      ),
    )) as AuditEvent[];
    return { schema, events: events.sort((a, b) => a.seq - b.seq) };
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

/** Runs `sql` on the schema with the append-only trigger off, as an owner altering the table would. */
async function tamper(schema: TestSchema, sql: string): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.unsafe(`SET search_path = ${schema.name}`);
    await admin.unsafe('ALTER TABLE core_audit_events DISABLE TRIGGER core_audit_append_only');
    await admin.unsafe(sql);
    await admin.unsafe('ALTER TABLE core_audit_events ENABLE TRIGGER core_audit_append_only');
  });
}

function broken(status: ChainStatus): { brokenAt: number; reason: string } {
  assert.equal(status.ok, false, 'the tampered chain must not verify');
  return status as { brokenAt: number; reason: string };
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'audit', 'verify', ...args], { encoding: 'utf8', timeout: 120_000 });
}

let intact: { schema: TestSchema; events: AuditEvent[] };
before(async () => {
  intact = await chain();
});

test('the chain two instances appended verifies from the command line (exit 0), and against an anchor QA kept', async () => {
  assert.deepEqual(
    intact.events.map((e) => e.seq),
    Array.from({ length: EVENTS }, (_, i) => i + 1),
  );
  const r = cli('--store', intact.schema.url);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`core audit chain in postgres://imprint:\\*\\*\\*@.* OK: ${EVENTS} events verified`));
  assert.doesNotMatch(r.stdout + r.stderr, /imprint:imprint@/, 'never the password');
  const last = intact.events[EVENTS - 1];
  assert.match(r.stdout, new RegExp(`last hash ${last.hash}`));
  const anchored = await verifyPgCoreAuditAt(intact.schema.url, { anchors: [parseAnchorArgument(`${last.seq}:${last.hash}`)] });
  assert.equal(anchored.ok, true);
  const wrong = await verifyPgCoreAuditAt(intact.schema.url, {
    anchors: [parseAnchorArgument(`${last.seq}:${intact.events[0].hash}`)],
  });
  assert.equal(broken(wrong).brokenAt, last.seq);
});

test('an edited body fails at its event (exit 3 from the command line, JSON verdict)', async () => {
  const { schema } = await chain();
  await tamper(
    schema,
    `UPDATE core_audit_events SET body = regexp_replace(body, '"message":"claim \\d+"', '"message":"claim 999"') WHERE seq = 11`,
  );
  const r = cli('--store', schema.url, '--json');
  assert.equal(r.status, 3, r.stderr + r.stdout);
  const status = JSON.parse(r.stdout) as ChainStatus;
  assert.equal(broken(status).brokenAt, 11);
  assert.match(broken(status).reason, /content of event 11 was changed/);
});

test('a body re-sealed with a matching hash breaks the link of the next event', async () => {
  const { schema, events } = await chain();
  const e = events[19];
  const body = (await bodyOf(schema, e.seq)).replace(/"message":"claim \d+"/, '"message":"forged"');
  assert.match(body, /forged/);
  await tamper(schema, `UPDATE core_audit_events SET body = '${body}', hash = '${hashBody(body)}' WHERE seq = ${e.seq}`);
  const s = broken(await verifyPgCoreAuditAt(schema.url));
  assert.equal(s.brokenAt, e.seq + 1);
  assert.match(s.reason, /prevHash mismatch/);
});

test('a deleted row, a cut tail, an edited search column, a forged row and a deleted head are each found', async () => {
  const cases: [string, (events: AuditEvent[]) => string, number, RegExp][] = [
    ['deleted row', () => 'DELETE FROM core_audit_events WHERE seq = 7', 7, /event 7/],
    ['cut tail', () => `DELETE FROM core_audit_events WHERE seq > ${EVENTS - 2}`, EVENTS - 1, /missing.*was cut/],
    ['edited column', () => `UPDATE core_audit_events SET step = 'other' WHERE seq = 4`, 4, /column step/],
    [
      'forged row',
      (ev) =>
        `INSERT INTO core_audit_events (seq, hash, body, ts, step, outcome)
         VALUES (${EVENTS + 1}, '${'0'.repeat(64)}', '{}', '${ev[0].ts}', 'claim', 'ok')`,
      EVENTS + 1,
      /./,
    ],
    ['deleted head', () => 'DELETE FROM core_audit_head', EVENTS, /head row is missing/],
  ];
  for (const [name, sql, at, reason] of cases) {
    const { schema, events } = await chain();
    await tamper(schema, sql(events));
    const s = broken(await verifyPgCoreAuditAt(schema.url));
    assert.equal(s.brokenAt, at, `${name}: ${s.reason}`);
    assert.match(s.reason, reason, name);
  }
});

test('a database without a pairing store is refused, not reported intact', async () => {
  const schema = await freshSchema('noaudit');
  schemas.push(schema);
  await assert.rejects(verifyPgCoreAuditAt(schema.url), { code: 'DB_URL_INVALID' });
});

async function bodyOf(schema: TestSchema, seq: number): Promise<string> {
  return withAdmin(async (admin) => {
    const [r] = await admin.unsafe(`SELECT body FROM ${schema.name}.core_audit_events WHERE seq = ${seq}`);
    return r.body as string;
  });
}
