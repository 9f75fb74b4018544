// Commits sealed write-ahead records with synchronous=FULL on its own thread, so the fsync that
// makes a record durable does not stall the station's event loop (and every other fixture).
// Plain JavaScript: worker threads start without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('secure_delete = ON');
db.pragma('busy_timeout = 5000');
const insert = db.prepare(workerData.sql);

parentPort.on('message', (msg) => {
  if (msg.type === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const r = insert.run({ ...msg.row, sealed: Buffer.from(msg.row.sealed) });
    parentPort.postMessage({ id: msg.id, rowid: Number(r.lastInsertRowid) });
  } catch (e) {
    // The code (SQLITE_FULL, SQLITE_IOERR_…) tells the station whether its own storage failed.
    const code = typeof e?.code === 'string' ? e.code : undefined;
    parentPort.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e), code });
  }
});
