// Tampering cases shared by the regression tests and the independent-verifier agreement test: a
// pristine trail, and each attack as a function that damages a copy of its files or its export.
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { bodyOfEvent } from '../../src/audit/audit-canonical.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import { signedBatchText } from '../../src/audit/batch-summary.ts';
import { checkpointText, makeCheckpoint } from '../../src/audit/chain-checkpoint.ts';
import { entryBody, hashBody, packEntry } from '../../src/audit/chain-link.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { attacker, entryOf, STATION, seed, setEntry } from './audit-fixtures.ts';

export interface Pristine {
  dir: string;
  /** Events in the trail. */
  total: number;
  /** Seq of the batch-close event. */
  closeSeq: number;
  /** Seq of the event with unusual data (keys, numbers, escapes). */
  oddSeq: number;
  keyId: string;
  jsonl: string;
  csv: string;
  cleanup(): void;
}

/** A closed batch of 30 devices, an event with unusual data, then 60 events after the close. */
export async function buildPristine(): Promise<Pristine> {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-audit-cases-'));
  const t = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION });
  const b = await t.openBatch({ workOrder: 'WO-CASES', operator: 'alice' });
  await seed(t, 30, b.id, 7);
  const odd = await t.append({
    station: STATION,
    step: 'settings-change',
    outcome: 'info',
    batchId: b.id,
    message: 'quote " backslash \\ newline \n tab \t ctl \u0001 lone \ud800 emoji 😀 é',
    durationMs: 812.5,
    data: {
      é: 'ü',
      '10': 1,
      '9': 2,
      big: 1e21,
      small: 1e-7,
      neg: -0.5,
      n16: 1e16,
      '～': 'x',
      '😀': [true, null, { z: {} }],
      lone: '\ud800',
      ctl: '\u0001\u001f\u007f\u2028',
    },
  });
  const closed = await t.closeBatch(b.id);
  for (let i = 0; i < 60; i++) await t.append({ station: STATION, step: 'heartbeat', outcome: 'info', durationMs: i + 0.25 });
  const status = t.verify();
  if (!status.ok) throw new Error(`pristine trail does not verify: ${status.reason}`);
  const jsonl = t.export({ format: 'jsonl' });
  const csv = t.export({ format: 'csv' });
  const keyId = t.publicKey().keyId;
  const closeSeq = t.query({ step: 'batch-close' })[0].seq;
  t.close();
  if (closed.id !== b.id) throw new Error('unexpected batch');
  return {
    dir,
    total: status.events,
    closeSeq,
    oddSeq: odd.seq,
    keyId,
    jsonl,
    csv,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A copy of the pristine trail's files (database, checkpoint, key) in a new folder. */
export function copyOf(p: Pristine): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-audit-case-'));
  for (const f of ['audit.db', 'audit.head', 'audit-signing-key.pem']) cpSync(join(p.dir, f), join(dir, f));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function eventAt(db: Database.Database, seq: number): AuditEvent & { v?: number } {
  const e = JSON.parse(entryBody(entryOf(db, seq)));
  delete e.v;
  return e;
}

/** Replaces event `seq` by this body text, with its hash recomputed (the next link then breaks). */
function putBody(db: Database.Database, seq: number, body: string): void {
  setEntry(db, seq, packEntry(hashBody(body), body));
}

/** Re-hashes the chain from `fromSeq` on, after `edit` changed events (a forger's full rewrite). */
function rehashFrom(db: Database.Database, fromSeq: number, total: number, edit: (e: AuditEvent) => void): string {
  let prev = fromSeq === 1 ? '0'.repeat(64) : (JSON.parse(entryOf(db, fromSeq - 1))[0] as string);
  for (let seq = fromSeq; seq <= total; seq++) {
    const e = eventAt(db, seq);
    e.prevHash = prev;
    edit(e);
    const body = bodyOfEvent({ ...e, hash: '' });
    prev = hashBody(body);
    setEntry(db, seq, packEntry(prev, body));
  }
  return prev;
}

export type Expect = { ok: true } | { ok: false; brokenAt: number };

export interface DbCase {
  name: string;
  tamper(dir: string, p: Pristine): void;
  /** Pin the pristine station key. */
  pinned?: boolean;
  /** Anchors to give verify (`<seq>:<hash>` or checkpoint text). */
  anchors?: (p: Pristine) => string[];
  expect(p: Pristine): Expect;
}

const withDb = (dir: string, fn: (db: Database.Database) => void) => {
  const db = attacker(dir);
  try {
    fn(db);
  } finally {
    db.close();
  }
};

const cutNewest = (n: number | 'all') => (dir: string, p: Pristine) =>
  withDb(dir, (db) => {
    db.prepare('DELETE FROM events WHERE seq > ?').run(n === 'all' ? 0 : p.total - n);
  });

/** Re-signs every batch summary and the checkpoint with a new key (written over the station's key file). */
export function resignWithAnotherKey(dir: string, p: Pristine): void {
  unlinkSync(join(dir, 'audit-signing-key.pem'));
  const key = loadOrCreateSigningKey(dir);
  withDb(dir, (db) => {
    const last = rehashFrom(db, p.closeSeq, p.total, (e) => {
      if (e.step !== 'batch-close') return;
      const d = e.data as { batch: never; summary: never; signature: string; signingKeyId: string; publicKey: string };
      d.signature = key.sign(signedBatchText(d.batch, d.summary));
      d.signingKeyId = key.keyId;
      d.publicKey = key.publicKey;
      db.prepare('UPDATE batches SET signature = ?, signing_key_id = ?, public_key = ?').run(
        d.signature,
        key.keyId,
        key.publicKey,
      );
    });
    writeFileSync(join(dir, 'audit.head'), checkpointText(makeCheckpoint(key, p.total, last)));
  });
}

export const DB_CASES: DbCase[] = [
  { name: 'untouched', tamper: () => {}, expect: () => ({ ok: true }) },
  { name: 'untouched, key pinned', tamper: () => {}, pinned: true, expect: () => ({ ok: true }) },
  {
    name: 'one field of one event edited',
    tamper: (dir) =>
      withDb(dir, (db) => setEntry(db, 40, entryOf(db, 40).replace(/"operator":"(alice|bob)"/, '"operator":"mallory"'))),
    expect: () => ({ ok: false, brokenAt: 40 }),
  },
  {
    name: 'two events swapped',
    tamper: (dir) =>
      withDb(dir, (db) => {
        const a = entryOf(db, 50);
        setEntry(db, 50, entryOf(db, 51));
        setEntry(db, 51, a);
      }),
    expect: () => ({ ok: false, brokenAt: 50 }),
  },
  {
    name: 'an event inserted (later rows moved up one seq)',
    tamper: (dir, p) =>
      withDb(dir, (db) => {
        for (let seq = p.total; seq >= 60; seq--) db.prepare('UPDATE events SET seq = ? WHERE seq = ?').run(seq + 1, seq);
        const prev = JSON.parse(entryOf(db, 59))[0] as string;
        const forged = bodyOfEvent({
          seq: 60,
          prevHash: prev,
          ts: '2026-11-23T00:00:00.000Z',
          station: STATION,
          step: 'record',
          outcome: 'ok',
          hash: '',
        });
        db.prepare('INSERT INTO events (seq, entry) VALUES (60, ?)').run(packEntry(hashBody(forged), forged));
      }),
    expect: () => ({ ok: false, brokenAt: 61 }),
  },
  {
    name: 'one event deleted',
    tamper: (dir) => withDb(dir, (db) => db.prepare('DELETE FROM events WHERE seq = 70').run()),
    expect: () => ({ ok: false, brokenAt: 70 }),
  },
  {
    name: 'a row moved to another seq with its body unchanged',
    tamper: (dir, p) => withDb(dir, (db) => db.prepare('UPDATE events SET seq = ? WHERE seq = ?').run(p.total + 100, p.total)),
    expect: (p) => ({ ok: false, brokenAt: p.total }),
  },
  { name: 'the newest event cut', tamper: cutNewest(1), expect: (p) => ({ ok: false, brokenAt: p.total }) },
  { name: 'the newest 50 events cut', tamper: cutNewest(50), expect: (p) => ({ ok: false, brokenAt: p.total - 49 }) },
  { name: 'every event cut', tamper: cutNewest('all'), expect: () => ({ ok: false, brokenAt: 1 }) },
  {
    name: 'cut past the batch close (the batches table still records it)',
    tamper: (dir, p) => {
      cutNewest(p.total - p.closeSeq + 5)(dir, p);
      unlinkSync(join(dir, 'audit.head'));
    },
    expect: (p) => ({ ok: false, brokenAt: p.closeSeq - 4 }),
  },
  {
    name: 'the newest event cut and the checkpoint deleted',
    tamper: (dir, p) => {
      cutNewest(1)(dir, p);
      unlinkSync(join(dir, 'audit.head'));
    },
    expect: (p) => ({ ok: false, brokenAt: p.total }),
  },
  {
    name: 'the checkpoint garbled',
    tamper: (dir) => writeFileSync(join(dir, 'audit.head'), '{"format":"imprint-audit-checkpoint/1"'),
    expect: (p) => ({ ok: false, brokenAt: p.total + 1 }),
  },
  {
    name: 'a duplicate member, hash recomputed',
    tamper: (dir) =>
      withDb(dir, (db) =>
        putBody(db, 80, entryBody(entryOf(db, 80)).replace('"outcome":"ok"', '"outcome":"fail","outcome":"ok"')),
      ),
    expect: () => ({ ok: false, brokenAt: 80 }),
  },
  {
    name: 'a duplicate member in data, hash recomputed',
    tamper: (dir, p) =>
      withDb(dir, (db) => putBody(db, p.oddSeq, entryBody(entryOf(db, p.oddSeq)).replace('"big":', '"big":0,"big":'))),
    expect: (p) => ({ ok: false, brokenAt: p.oddSeq }),
  },
  {
    name: 'a number not in canonical form (812.50), hash recomputed',
    tamper: (dir, p) => withDb(dir, (db) => putBody(db, p.oddSeq, entryBody(entryOf(db, p.oddSeq)).replace('812.5', '812.50'))),
    expect: (p) => ({ ok: false, brokenAt: p.oddSeq }),
  },
  {
    name: 'an exponent not in canonical form (1e21), hash recomputed',
    tamper: (dir, p) => withDb(dir, (db) => putBody(db, p.oddSeq, entryBody(entryOf(db, p.oddSeq)).replace('1e+21', '1e21'))),
    expect: (p) => ({ ok: false, brokenAt: p.oddSeq }),
  },
  {
    name: 'a character escaped without need (\\u00e9), hash recomputed',
    tamper: (dir, p) => withDb(dir, (db) => putBody(db, p.oddSeq, entryBody(entryOf(db, p.oddSeq)).replace('"é"', '"\\u00e9"'))),
    expect: (p) => ({ ok: false, brokenAt: p.oddSeq }),
  },
  {
    name: 'an entry stored as a BLOB',
    tamper: (dir) => withDb(dir, (db) => db.prepare('UPDATE events SET entry = CAST(entry AS BLOB) WHERE seq = 90').run()),
    expect: () => ({ ok: false, brokenAt: 90 }),
  },
  {
    name: 'bytes that are not UTF-8 in an entry, hash over them',
    tamper: (dir) =>
      withDb(dir, (db) => {
        const text = entryBody(entryOf(db, 95)).replace('"outcome":"ok"', '"outcome":"o\u0000k"');
        const bytes = Buffer.from(text.replace('\u0000', '\ufffd'));
        // Replace the 3 bytes of U+FFFD by 3 invalid ones (a truncated 4-byte sequence).
        const at = bytes.indexOf(Buffer.from('\ufffd'));
        Buffer.from([0xf0, 0x9f, 0x98]).copy(bytes, at);
        const hash = hashBody(text.replace('\u0000', '\ufffd'));
        const entry = Buffer.concat([Buffer.from(`["${hash}",`), bytes, Buffer.from(']')]);
        db.prepare('UPDATE events SET entry = CAST(? AS TEXT) WHERE seq = 95').run(entry);
      }),
    expect: () => ({ ok: false, brokenAt: 95 }),
  },
  {
    name: 'a batches table summary changed',
    tamper: (dir) => withDb(dir, (db) => db.prepare("UPDATE batches SET summary = json_set(summary, '$.failed', 0)").run()),
    expect: (p) => ({ ok: false, brokenAt: p.closeSeq }),
  },
  {
    name: 'a signed summary changed and the chain re-hashed',
    tamper: (dir, p) =>
      withDb(dir, (db) => {
        const last = rehashFrom(db, p.closeSeq, p.total, (e) => {
          if (e.step === 'batch-close') (e.data as { summary: { passed: number } }).summary.passed += 1;
        });
        void last;
      }),
    expect: (p) => ({ ok: false, brokenAt: p.closeSeq }),
  },
  {
    name: 'the last event replaced by a minimal one (v, seq, prevHash), re-anchored with the station key',
    tamper: (dir, p) =>
      withDb(dir, (db) => {
        const prev = JSON.parse(entryOf(db, p.total - 1))[0] as string;
        const body = `{"v":1,"seq":${p.total},"prevHash":"${prev}"}`;
        putBody(db, p.total, body);
        writeFileSync(
          join(dir, 'audit.head'),
          checkpointText(makeCheckpoint(loadOrCreateSigningKey(dir), p.total, hashBody(body))),
        );
      }),
    expect: () => ({ ok: true }),
  },
  { name: 're-signed with another key, not pinned', tamper: resignWithAnotherKey, expect: () => ({ ok: true }) },
  {
    name: 're-signed with another key, key pinned',
    tamper: resignWithAnotherKey,
    pinned: true,
    expect: (p) => ({ ok: false, brokenAt: p.closeSeq }),
  },
  {
    name: 'an anchor QA kept, the trail untouched',
    tamper: () => {},
    anchors: (p) => [`${p.total - 10}:${anchorHash(p, p.total - 10)}`],
    expect: () => ({ ok: true }),
  },
  {
    name: 'an anchor QA kept, the trail cut before it and an older checkpoint put back',
    tamper: (dir, p) => {
      const old = p.total - 20;
      cutNewest(20)(dir, p);
      // As a copy of audit.head kept from when the trail ended there would be.
      writeFileSync(
        join(dir, 'audit.head'),
        checkpointText(makeCheckpoint(loadOrCreateSigningKey(dir), old, anchorHash(p, old))),
      );
    },
    anchors: (p) => [`${p.total - 10}:${anchorHash(p, p.total - 10)}`],
    expect: (p) => ({ ok: false, brokenAt: p.total - 19 }),
  },
];

const hashes = new Map<string, string>();
/** The hash of event `seq` of the pristine trail (from its JSON lines export). */
export function anchorHash(p: Pristine, seq: number): string {
  const key = `${p.dir}:${seq}`;
  let h = hashes.get(key);
  if (!h) {
    const line = p.jsonl.split('\n').find((l) => l.startsWith(`{"v":1,"seq":${seq},`));
    h = (line?.match(/"hash":"([0-9a-f]{64})"\}$/) ?? [])[1] ?? '';
    hashes.set(key, h);
  }
  return h;
}

export interface ExportCase {
  name: string;
  format: 'jsonl' | 'csv';
  /** The tampered file content (a Buffer when it must hold bytes that are not UTF-8). */
  tamper(text: string, p: Pristine): string | Buffer;
  pinned?: boolean;
  expect(p: Pristine): Expect;
}

/** Lines of an export with their terminator, so that a CSV record keeps its CRLF. */
const split = (text: string, format: 'jsonl' | 'csv') => {
  const sep = format === 'csv' ? '\r\n' : '\n';
  const rows: string[] = [];
  for (const part of text.split(sep).slice(0, -1)) {
    const prev = rows.length ? rows[rows.length - 1] : undefined;
    // CSV: a quoted line break stays inside its record.
    if (format === 'csv' && prev !== undefined && (prev.match(/"/g)?.length ?? 0) % 2 === 1)
      rows[rows.length - 1] = `${prev}${sep}${part}`;
    else rows.push(part);
  }
  return { rows, join: (r: string[]) => r.map((x) => x + sep).join('') };
};
const rowOf = (rows: string[], seq: number, format: 'jsonl' | 'csv') =>
  rows.findIndex((r) => (format === 'csv' ? r.startsWith(`${seq},`) : r.startsWith(`{"v":1,"seq":${seq},`)));

function exportCases(format: 'jsonl' | 'csv'): ExportCase[] {
  const edit = (fn: (rows: string[], p: Pristine) => void) => (text: string, p: Pristine) => {
    const { rows, join } = split(text, format);
    fn(rows, p);
    return join(rows);
  };
  const trailerRow = (rows: string[]) => rows.length - 1;
  const cases: ExportCase[] = [
    { name: 'untouched', format, tamper: (t) => t, expect: () => ({ ok: true }) },
    { name: 'untouched, key pinned', format, tamper: (t) => t, pinned: true, expect: () => ({ ok: true }) },
    {
      name: 'one event edited',
      format,
      tamper: edit((r) => {
        const i = rowOf(r, 30, format);
        r[i] = r[i].replace(/alice|bob/, 'mallory');
      }),
      expect: () => ({ ok: false, brokenAt: 30 }),
    },
    {
      name: 'two events swapped',
      format,
      tamper: edit((r) => {
        const i = rowOf(r, 31, format);
        [r[i], r[i + 1]] = [r[i + 1], r[i]];
      }),
      expect: () => ({ ok: false, brokenAt: 31 }),
    },
    {
      name: 'one event deleted',
      format,
      tamper: edit((r) => {
        r.splice(rowOf(r, 33, format), 1);
      }),
      expect: () => ({ ok: false, brokenAt: 33 }),
    },
    {
      name: 'the last two events removed and the trailer rewritten',
      format,
      tamper: (text, p) => {
        const { rows, join } = split(text, format);
        const last = rows[rowOf(rows, p.total - 2, format)];
        const lastHash = format === 'csv' ? last.split(',')[2] : (last.match(/"hash":"([0-9a-f]{64})"\}$/) ?? [])[1];
        rows.splice(rowOf(rows, p.total - 1, format), 2);
        const t = trailerRow(rows);
        rows[t] = rows[t]
          .replace(/("*events"*:)\d+/, `$1${p.total - 2}`)
          .replace(/("*lastSeq"*:)\d+/, `$1${p.total - 2}`)
          .replace(/("*lastHash"*:"*)[0-9a-f]{64}/, `$1${lastHash}`);
        return join(rows);
      },
      expect: (p) => ({ ok: false, brokenAt: p.total - 1 }),
    },
    {
      name: 'the first two events removed and fromSeq rewritten',
      format,
      tamper: edit((r) => {
        r.splice(rowOf(r, 1, format), 2);
        const h = format === 'csv' ? 1 : 0;
        r[h] = r[h].replace(/("*fromSeq"*:)1/, '$13');
      }),
      expect: (p) => ({ ok: false, brokenAt: p.total + 1 }),
    },
    {
      name: 'the trailer removed',
      format,
      tamper: edit((r) => {
        r.pop();
      }),
      expect: (p) => ({ ok: false, brokenAt: p.total + 1 }),
    },
    {
      name: 'a duplicate member, hash recomputed',
      format: 'jsonl',
      tamper: edit((r) => {
        const i = rowOf(r, 20, 'jsonl');
        const body = `${r[i].replace(/,"hash":"[0-9a-f]{64}"\}$/, '}')}`.replace('"step":', '"outcome":"fail","step":');
        r[i] = `${body.slice(0, -1)},"hash":"${hashBody(body)}"}`;
      }),
      expect: () => ({ ok: false, brokenAt: 20 }),
    },
    {
      name: 'a number not in canonical form',
      format,
      tamper: edit((r, p) => {
        const i = rowOf(r, p.oddSeq, format);
        r[i] = r[i].replace('812.5', '812.50');
      }),
      expect: (p) => ({ ok: false, brokenAt: p.oddSeq }),
    },
    {
      name: 'a line that is not UTF-8',
      format,
      tamper: (text) => {
        const { rows, join } = split(text, format);
        const i = rowOf(rows, 25, format);
        rows[i] = rows[i].replace(/alice|bob/, '\u0000');
        const bytes = Buffer.from(join(rows));
        bytes[bytes.indexOf(0)] = 0xff; // never valid in UTF-8
        return bytes;
      },
      expect: () => ({ ok: false, brokenAt: 25 }),
    },
    {
      name: 'exported from a history re-signed with another key, key pinned',
      format,
      tamper: (_t, p) => resignedExport(p, format),
      pinned: true,
      expect: (p) => ({ ok: false, brokenAt: p.closeSeq }),
    },
    {
      name: 'exported from a history re-signed with another key, not pinned',
      format,
      tamper: (_t, p) => resignedExport(p, format),
      expect: () => ({ ok: true }),
    },
  ];
  return cases.filter((c) => c.format === format);
}

const resigned = new Map<string, string>();
function resignedExport(p: Pristine, format: 'jsonl' | 'csv'): string {
  const key = `${p.dir}:${format}`;
  let text = resigned.get(key);
  if (text === undefined) {
    const copy = copyOf(p);
    try {
      resignWithAnotherKey(copy.dir, p);
      const t = AuditTrail.open({ file: join(copy.dir, 'audit.db'), stationId: STATION, readonly: true });
      text = t.export({ format });
      t.close();
    } finally {
      copy.cleanup();
    }
    resigned.set(key, text);
  }
  return text;
}

export const EXPORT_CASES: ExportCase[] = [...exportCases('jsonl'), ...exportCases('csv')];
