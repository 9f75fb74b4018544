// Commits sealed write-ahead records with synchronous=FULL on its own thread, so the fsync that
// makes a record durable does not stall the station's event loop (and every other fixture).
// Started by station-db.ts (startWorker), which hands it the file, the statement and the settings.
import { parentPort } from 'node:worker_threads';
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

port.on('message', (msg: VaultWriterRequest) => {
  if (msg.type === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: VaultWriterReply;
  try {
    const r = insert.run({ ...msg.row, sealed: Buffer.from(msg.row.sealed as Uint8Array) });
    reply = { id: msg.id, rowid: Number(r.lastInsertRowid) };
  } catch (e) {
    // The code (SQLITE_FULL, SQLITE_IOERR_…) tells the station whether its own storage failed.
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
    reply = { id: msg.id, error: e instanceof Error ? e.message : String(e), code };
  }
  port.postMessage(reply);
});
