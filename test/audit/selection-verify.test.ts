// A selection export (QA's filtered export, imprint-audit-selection/1) is verified by
// `imprint audit verify --file` and by the independent Python verifier written from
// docs/audit-trail.md: both accept an untouched one and refuse every tampering at the same seq.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { bodyOfEvent, canonicalJson } from '../../src/audit/audit-canonical.ts';
import { csvRow, jsonlRow } from '../../src/audit/audit-export.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { AuditEvent, ChainStatus } from '../../src/audit/audit-types.ts';
import { verifyExportFile } from '../../src/audit/audit-verify.ts';
import { hashBody, packEntry } from '../../src/audit/chain-link.ts';
import { SELECTION_NOTE } from '../../src/audit/selection-check.ts';
import { SelectionDigest, signedSelectionText } from '../../src/audit/selection-envelope.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { STATION, tempDir } from './audit-fixtures.ts';
import { buildPristine, type Pristine } from './tamper-cases.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./independent_verifier.py', import.meta.url).pathname;
const BIN = new URL('../../bin/imprint.mjs', import.meta.url).pathname;
const run = promisify(execFile);

type Format = 'jsonl' | 'csv';
type Verdict = { ok: true } | { ok: false; brokenAt: number };

async function python(args: string[]): Promise<{ ok: boolean; brokenAt: number | null; reason: string }> {
  const out = await run(PYTHON, [SCRIPT, ...args], { timeout: 120_000 }).catch((e: { stdout?: string; code?: number }) => {
    if (e.code === 3 && e.stdout) return { stdout: e.stdout };
    throw e;
  });
  return JSON.parse(out.stdout);
}

const verdict = (s: { ok: boolean; brokenAt?: number | null }): Verdict =>
  s.ok ? { ok: true } : { ok: false, brokenAt: s.brokenAt as number };

/** The rows of a selection: header at 0 (after CSV's column names), events, trailer last. */
interface Rows {
  head: string[];
  events: { seq: number; hash: string; text: string }[];
  trailer: Record<string, unknown> | null;
  header: Record<string, unknown>;
  /** The header row as written, instead of the header object (a spelling the object cannot give). */
  rawHeader?: string;
}

const SEP = { jsonl: '\n', csv: '\r\n' };

function envelopeJson(row: string, format: Format): Record<string, unknown> {
  if (format === 'jsonl') return JSON.parse(row);
  // CSV: the JSON is the last field, quoted.
  const field = row.slice(row.indexOf(',"') + 1);
  return JSON.parse(field.slice(1, -1).replace(/""/g, '"'));
}

function envelopeRow(o: Record<string, unknown>, format: Format): string {
  if (format === 'jsonl') return canonicalJson(o);
  return `${o.type}${','.repeat(16)}"${canonicalJson(o).replace(/"/g, '""')}"`;
}

function parseRows(text: string, format: Format): Rows {
  const sep = SEP[format];
  const lines: string[] = [];
  for (const part of text.split(sep).slice(0, -1)) {
    const prev = lines.at(-1);
    // CSV: a quoted line break stays inside its record.
    if (format === 'csv' && prev !== undefined && (prev.match(/"/g)?.length ?? 0) % 2 === 1)
      lines[lines.length - 1] = `${prev}${sep}${part}`;
    else lines.push(part);
  }
  const head = format === 'csv' ? lines.slice(0, 2) : lines.slice(0, 1);
  const events = lines.slice(head.length, -1).map((l) => {
    if (format === 'csv') {
      const [seq, , hash] = l.split(',');
      return { seq: Number(seq), hash, text: l };
    }
    const m = /^\{"v":1,"seq":(\d+),.*"hash":"([0-9a-f]{64})"\}$/.exec(l) as RegExpExecArray;
    return { seq: Number(m[1]), hash: m[2], text: l };
  });
  return {
    head,
    events,
    header: envelopeJson(head.at(-1) as string, format),
    trailer: envelopeJson(lines.at(-1) as string, format),
  };
}

function joinRows(r: Rows, format: Format): string {
  const head = [...r.head];
  head[head.length - 1] = r.rawHeader ?? envelopeRow(r.header, format);
  const trailer = r.trailer ? [envelopeRow(r.trailer, format)] : [];
  return [...head, ...r.events.map((e) => e.text), ...trailer].map((l) => l + SEP[format]).join('');
}

/** Signs header + trailer again with a key of the forger's own, with a fresh count and digest. */
function resign(r: Rows, keyDir: string): void {
  const key = loadOrCreateSigningKey(keyDir);
  const digest = new SelectionDigest();
  for (const e of r.events) digest.add(e.hash);
  r.header = { ...r.header, keyId: key.keyId, publicKey: key.publicKey };
  const unsigned = { type: 'trailer' as const, events: digest.count, digest: digest.hex() };
  r.trailer = {
    ...unsigned,
    signature: key.sign(signedSelectionText(r.header as unknown as Parameters<typeof signedSelectionText>[0], unsigned)),
  };
}

interface Case {
  name: string;
  tamper(r: Rows, ctx: { keyDir: string; format: Format; eventOf(seq: number): AuditEvent }): void;
  pinned?: boolean;
  anchor?: boolean;
  /** brokenAt from the untampered rows (undefined: intact). */
  expect(r: Rows): number | undefined;
}

const lastPlusOne = (r: Rows) => (r.events.at(-1)?.seq ?? 0) + 1;

const CASES: Case[] = [
  { name: 'untouched', tamper: () => {}, expect: () => undefined },
  { name: 'untouched, key pinned', tamper: () => {}, pinned: true, expect: () => undefined },
  {
    name: 'an event changed',
    tamper: (r) => {
      r.events[5].text = r.events[5].text.replace('alice', 'mallory');
    },
    expect: (r) => r.events[5].seq,
  },
  {
    name: 'an event dropped',
    tamper: (r) => {
      r.events.splice(7, 1);
    },
    // The signature holds (header and trailer untouched); the count then differs, after the last event.
    expect: lastPlusOne,
  },
  {
    name: 'the last event dropped',
    tamper: (r) => {
      r.events.pop();
    },
    expect: (r) => (r.events.at(-2)?.seq as number) + 1,
  },
  {
    name: 'an event added from elsewhere in the trail',
    tamper: (r, ctx) => {
      const t = r.events[0].text;
      const extra = ctx.format === 'csv' ? t.replace(/^\d+,/, '999999,') : t.replace(/"seq":(\d+)/, '"seq":999999');
      r.events.push({ seq: 999999, hash: r.events[0].hash, text: extra });
    },
    expect: () => 999999,
  },
  {
    name: 'two events swapped',
    tamper: (r) => {
      [r.events[3], r.events[4]] = [r.events[4], r.events[3]];
    },
    expect: (r) => r.events[4].seq + 1,
  },
  {
    name: 'the count changed',
    tamper: (r) => {
      if (r.trailer) r.trailer.events = (r.trailer.events as number) - 1;
    },
    expect: lastPlusOne,
  },
  {
    name: 'the digest changed',
    tamper: (r) => {
      if (r.trailer) r.trailer.digest = `${'0'.repeat(63)}1`;
    },
    expect: lastPlusOne,
  },
  {
    name: 'the signature changed',
    tamper: (r) => {
      const sig = Buffer.from(r.trailer?.signature as string, 'base64');
      sig[10] ^= 1;
      r.trailer = { ...r.trailer, signature: sig.toString('base64') };
    },
    expect: lastPlusOne,
  },
  {
    name: 'the search in the header changed',
    tamper: (r) => {
      r.header.selection = { ...(r.header.selection as object), operator: 'bob' };
    },
    expect: lastPlusOne,
  },
  {
    name: 'the header search not canonical',
    tamper: (r) => {
      r.rawHeader = (r.head.at(-1) as string).replace(/("+)selection\1:\{/, '$1selection$1: {');
    },
    expect: () => 1,
  },
  {
    name: 'the trailer removed',
    tamper: (r) => {
      r.trailer = null;
    },
    expect: lastPlusOne,
  },
  {
    name: 'an event dropped and re-signed with another key, key pinned',
    tamper: (r, ctx) => {
      r.events.splice(2, 1);
      resign(r, ctx.keyDir);
    },
    pinned: true,
    expect: lastPlusOne,
  },
  {
    name: 'an event dropped and re-signed with another key, not pinned (why QA pins the key)',
    tamper: (r, ctx) => {
      r.events.splice(2, 1);
      resign(r, ctx.keyDir);
    },
    expect: () => undefined,
  },
  {
    name: "a batch-close's signed summary changed and its hash recomputed",
    tamper: (r, ctx) => {
      const i = r.events.findIndex((e) => e.text.includes('batch-close'));
      const e = ctx.eventOf(r.events[i].seq);
      const data = e.data as { summary: { passed: number } };
      data.summary.passed += 1;
      const body = bodyOfEvent(e);
      const entry = packEntry(hashBody(body), body);
      r.events[i] = { seq: e.seq, hash: hashBody(body), text: (ctx.format === 'csv' ? csvRow : jsonlRow)(entry).trimEnd() };
    },
    expect: (r) => r.events.find((e) => e.text.includes('batch-close'))?.seq,
  },
  {
    name: 'checked against an anchor',
    tamper: () => {},
    anchor: true,
    expect: () => 1,
  },
];

describe('selection exports: our verifier and the independent one agree', () => {
  let p: Pristine;
  const tmp = tempDir();
  const selections: Record<Format, string> = { jsonl: '', csv: '' };
  // Alice's devices (4 neighbouring events each), her batch's open and its signed close.
  const search = { operator: 'alice' };
  let keyId = '';
  before(async () => {
    p = await buildPristine();
    const t = AuditTrail.open({ file: join(p.dir, 'audit.db'), stationId: STATION, readonly: true });
    try {
      for (const f of ['jsonl', 'csv'] as const) selections[f] = t.exportSelection({ format: f, query: search });
      keyId = t.publicKey().keyId;
    } finally {
      t.close();
    }
  });
  after(() => {
    p.cleanup();
    tmp.cleanup();
  });

  test('a selection holds exactly the searched events, each written as in a chain export', () => {
    const r = parseRows(selections.jsonl, 'jsonl');
    assert.equal(r.events.length, 62);
    assert.ok(r.events.some((e) => e.text.includes('"step":"batch-close"')));
    assert.deepEqual(r.header.selection, search);
    for (const e of r.events) assert.ok(p.jsonl.includes(`${e.text}\n`), `event ${e.seq} as in the chain export`);
  });

  for (const format of ['jsonl', 'csv'] as const)
    for (const c of CASES)
      test(`${format}: ${c.name}`, async () => {
        const r = parseRows(selections[format], format);
        const expected = c.expect(r);
        const eventOf = (seq: number) => {
          const line = parseRows(selections.jsonl, 'jsonl').events.find((e) => e.seq === seq)?.text as string;
          const e = JSON.parse(line) as AuditEvent & { v?: number };
          delete e.v;
          return e;
        };
        c.tamper(r, { keyDir: join(tmp.dir, `forger-${format}`), format, eventOf });
        const file = join(tmp.dir, `selection-${format}-${c.name.replace(/\W+/g, '-')}.${format}`);
        writeFileSync(file, c.name === 'untouched' ? selections[format] : joinRows(r, format));
        const pinned = c.pinned ? [keyId] : undefined;
        const anchors = c.anchor ? [{ seq: 1, hash: '0'.repeat(64), source: 'test' }] : undefined;
        const ours: ChainStatus = await verifyExportFile(file, { trustedKeyIds: pinned, anchors });
        const theirs = await python([
          '--file',
          file,
          ...(pinned ? ['--key-id', ...pinned] : []),
          ...(c.anchor ? ['--anchor', `1:${'0'.repeat(64)}`] : []),
        ]);
        const want: Verdict = expected === undefined ? { ok: true } : { ok: false, brokenAt: expected };
        assert.deepEqual(verdict(ours), want, `ours: ${JSON.stringify(ours)}`);
        assert.deepEqual(verdict(theirs), want, `theirs: ${theirs.reason}`);
        if (ours.ok) {
          assert.deepEqual(ours.selection, search);
          assert.deepEqual(ours.notes, [SELECTION_NOTE]);
        }
      });

  test('imprint audit verify --file says what a selection proves and what it cannot', async () => {
    const file = join(tmp.dir, 'cli-selection.jsonl');
    writeFileSync(file, selections.jsonl);
    const env = { ...process.env };
    delete env.IMPRINT_DATA;
    const ok = await run(process.execPath, [BIN, 'audit', 'verify', '--file', file, '--key-id', keyId], { env });
    assert.match(ok.stdout, /OK: a selection of 62 events/);
    assert.match(ok.stdout, /search: operator="alice"/);
    assert.match(ok.stdout, /NOTE: a selection cannot prove that nothing was left out of the search/);
    const r = parseRows(selections.jsonl, 'jsonl');
    r.events.splice(0, 1);
    writeFileSync(file, joinRows(r, 'jsonl'));
    const broken = await run(process.execPath, [BIN, 'audit', 'verify', '--file', file], { env }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal((broken as { code?: number }).code, 3);
    assert.match(broken.stdout, /BROKEN: broken at event \d+: events missing or added/);
  });
});
