// Commits sealed write-ahead records with synchronous=FULL on its own thread, so the fsync that
// makes a record durable does not stall the station's event loop (and every other fixture).
// Records that arrive while a commit runs are committed together, in one transaction (one fsync),
// each in its own savepoint so one record's error fails only that record.
// Started by station-db.ts (startWorker), which hands it the file, the statement and the settings.
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { workerInput } from '../common/typescript-worker.ts';
import { openSqlite, type SqliteOpenOptions } from '../db/sqlite.ts';

export interface VaultWriterInput {
  file: string;
  sql: string;
  sqlite: SqliteOpenOptions;
}

export type VaultWriterRequest = { type: 'close' } | { type: 'insert'; id: number; row: Record<string, unknown> };
export type VaultWriterReply = { id: number; rowid: number } | { id: number; error: string; code?: string };

const { file, sql, sqlite } = workerInput<VaultWriterInput>();
const port = parentPort!;
const db = openSqlite(file, sqlite);
const insert = db.prepare(sql);

type Insert = Extract<VaultWriterRequest, { type: 'insert' }>;

function failure(id: number, e: unknown): VaultWriterReply {
  // The code (SQLITE_FULL, SQLITE_IOERR_…) tells the station whether its own storage failed.
  const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
  return { id, error: e instanceof Error ? e.message : String(e), code };
}

const insertOne = db.transaction((msg: Insert) =>
  Number(insert.run({ ...msg.row, sealed: Buffer.from(msg.row.sealed as Uint8Array) }).lastInsertRowid),
);
const insertAll = db.transaction((msgs: Insert[]): VaultWriterReply[] =>
  msgs.map((m) => {
    try {
      return { id: m.id, rowid: insertOne(m) };
    } catch (e) {
      return failure(m.id, e);
    }
  }),
);

function commit(msgs: Insert[]): void {
  let replies: VaultWriterReply[];
  try {
    replies = insertAll.immediate(msgs);
  } catch (e) {
    // The commit itself failed (disk full, I/O error): none of these records is durable.
    replies = msgs.map((m) => failure(m.id, e));
  }
  for (const r of replies) port.postMessage(r);
}

function close(): void {
  db.close();
  port.close();
}

port.on('message', (first: VaultWriterRequest) => {
  if (first.type === 'close') return close();
  // Everything already queued behind it shares the commit.
  const batch: Insert[] = [first];
  let closing = false;
  for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
    const msg = next.message as VaultWriterRequest;
    if (msg.type === 'close') {
      closing = true;
      break;
    }
    batch.push(msg);
  }
  commit(batch);
  if (closing) close();
});
