// The chain-head checkpoint: a signed statement "event <seq> of this trail has hash <hash>", kept
// outside audit.db (`<data>/audit.head`) and refreshed after every group commit, so that cutting
// events off the end of the database is evident (docs/audit-trail.md, "Anchors").
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../common/logger.ts';
import { canonicalJson } from './audit-canonical.ts';
import { jsonValueProblem } from './canonical-check.ts';
import { keyIdOf, type SigningKey, verifySignature } from './station-signing-key.ts';

export const CHECKPOINT_FORMAT = 'imprint-audit-checkpoint/1';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  seq: number;
  hash: string;
  /** When it was signed (ISO 8601 UTC). */
  time: string;
  keyId: string;
  /** Base64 DER SubjectPublicKeyInfo of the Ed25519 key that signed it. */
  publicKey: string;
  /** Base64 Ed25519 signature over signedCheckpointText(). */
  signature: string;
}

const MEMBERS = ['format', 'hash', 'keyId', 'publicKey', 'seq', 'signature', 'time'];
const HASH = /^[0-9a-f]{64}$/;

/** `<dir>/audit.head` for `<dir>/audit.db`. */
export function checkpointFileFor(dbFile: string): string {
  return join(dirname(dbFile), `${basename(dbFile).replace(/\.db$/, '')}.head`);
}

/** The signed text: the format line, then canonical JSON of {hash, keyId, seq, time}. */
export function signedCheckpointText(c: Pick<Checkpoint, 'seq' | 'hash' | 'time' | 'keyId'>): string {
  return `${CHECKPOINT_FORMAT}\n${canonicalJson({ hash: c.hash, keyId: c.keyId, seq: c.seq, time: c.time })}`;
}

export function makeCheckpoint(key: SigningKey, seq: number, hash: string, time = new Date().toISOString()): Checkpoint {
  const signature = key.sign(signedCheckpointText({ seq, hash, time, keyId: key.keyId }));
  return { format: CHECKPOINT_FORMAT, seq, hash, time, keyId: key.keyId, publicKey: key.publicKey, signature };
}

/** The file text: canonical JSON and a line feed. */
export function checkpointText(c: Checkpoint): string {
  return `${canonicalJson(c)}\n`;
}

/** Parses a checkpoint text (canonical JSON, one optional final line feed); a string says why not. */
export function parseCheckpoint(text: string): Checkpoint | string {
  const json = text.endsWith('\n') ? text.slice(0, -1) : text;
  const problem = jsonValueProblem(json, { object: true });
  if (problem) return `not a checkpoint in canonical JSON (${problem})`;
  const c = JSON.parse(json) as Record<string, unknown>;
  const keys = Object.keys(c);
  if (keys.length !== MEMBERS.length || !MEMBERS.every((k) => k in c)) return `a checkpoint has exactly: ${MEMBERS.join(', ')}`;
  if (c.format !== CHECKPOINT_FORMAT) return `unknown checkpoint format ${JSON.stringify(c.format)}`;
  if (!Number.isSafeInteger(c.seq) || (c.seq as number) < 0) return 'seq is not an integer';
  if (typeof c.hash !== 'string' || !HASH.test(c.hash)) return 'hash is not 64 lower-case hex digits';
  for (const k of ['time', 'keyId', 'publicKey', 'signature'] as const)
    if (typeof c[k] !== 'string') return `${k} is not a string`;
  return c as unknown as Checkpoint;
}

/** Why a checkpoint's signature is not acceptable, or undefined. */
export function checkpointSignatureProblem(c: Checkpoint, trustedKeyIds?: readonly string[]): string | undefined {
  const keyId = keyIdOf(c.publicKey);
  if (c.keyId !== keyId) return `its key id ${c.keyId} does not match its public key`;
  if (trustedKeyIds && !trustedKeyIds.includes(keyId)) return `it is signed by ${keyId}, not a trusted station key`;
  if (!verifySignature(c.publicKey, signedCheckpointText(c), c.signature)) return 'its signature does not verify';
  return undefined;
}

export type CheckpointRead = { checkpoint: Checkpoint } | { missing: true } | { problem: string };

export function readCheckpointFile(file: string): CheckpointRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const c = parseCheckpoint(text);
  return typeof c === 'string' ? { problem: c } : { checkpoint: c };
}

let writers = 0;

/**
 * While commits keep coming, a new checkpoint file is started at most this often (the first one
 * after a pause at once): each is a signature, a file created, fsynced and renamed, and one per
 * group commit was a tenth of a station's CPU per device. A crash leaves at most this long of
 * commits (plus the write in flight) "not anchored yet"; close() and verify() still write the head.
 */
export const CHECKPOINT_INTERVAL_MS = 50;

/**
 * Keeps `audit.head` at the head of the chain for one writing AuditTrail. Refreshes are coalesced
 * and written off the event loop (at most one file write in flight; the newest head wins), so the
 * append path pays only a signature per write. A checkpoint is only ever replaced by a newer one
 * of the same chain: one the chain does not reach (events were cut) is left as evidence.
 */
export class CheckpointWriter {
  private readonly tmpPrefix: string;
  private writes = 0;
  /** Checkpoints installed by this writer (for benchmarks and status). */
  refreshes = 0;
  private written?: { seq: number; hash: string };
  private wanted?: { seq: number; hash: string };
  private inFlight = false;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  /** Why this writer does not refresh the checkpoint (the chain does not reach it), once known. */
  blocked?: string;

  constructor(
    readonly file: string,
    private readonly key: () => SigningKey,
    private readonly log: Logger,
  ) {
    this.tmpPrefix = `${file}.${process.pid}-${++writers}`;
  }

  /**
   * Decides, at open, whether this trail may move the checkpoint: yes when it is missing on a new
   * or just-upgraded trail, or when the chain reaches it with the same hash.
   */
  start(readHead: () => { seq: number; hash: string }, hashAt: (seq: number) => string | undefined, upgraded: boolean): void {
    this.removeStaleTemporaries();
    const read = readCheckpointFile(this.file);
    // The head is read after the checkpoint: another writer may commit and refresh in between.
    const head = readHead();
    if ('missing' in read) {
      if (head.seq > 0 && !upgraded) this.blocked = 'the chain-head checkpoint is missing';
    } else if ('problem' in read) this.blocked = `the chain-head checkpoint ${read.problem}`;
    else {
      const c = read.checkpoint;
      const sig = checkpointSignatureProblem(c);
      if (sig) this.blocked = `the chain-head checkpoint is not valid: ${sig}`;
      else if (c.seq > head.seq) this.blocked = `the trail ends at event ${head.seq}, the checkpoint records event ${c.seq}`;
      else if (c.seq > 0 && hashAt(c.seq) !== c.hash) this.blocked = `event ${c.seq} differs from the checkpoint`;
      else this.written = { seq: c.seq, hash: c.hash };
    }
    if (this.blocked) {
      this.log.error(
        { file: this.file, problem: this.blocked },
        'audit trail: the checkpoint is kept as evidence and not refreshed',
      );
      return;
    }
    // A new trail is anchored at its genesis (event 0) before its first event: a station killed
    // between its first commit and its first refresh leaves "not anchored yet", not a missing file.
    this.flushSync(head);
  }

  /** After a commit: schedule a refresh to this head (coalesced with any in flight). */
  refresh(head: { seq: number; hash: string }): void {
    if (this.blocked || head.seq === this.written?.seq) return;
    this.wanted = head;
    if (!this.inFlight) void this.writeLoop();
  }

  /** Writes the head now, synchronously (at close), unless it is already there. */
  flushSync(head: { seq: number; hash: string }): void {
    if (this.blocked || head.seq === this.written?.seq) return;
    this.wanted = undefined;
    const tmp = `${this.tmpPrefix}-${++this.writes}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, checkpointText(makeCheckpoint(this.key(), head.seq, head.hash)));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.install(tmp, head);
    } catch (e) {
      this.failed(e, tmp);
    }
  }

  private async writeLoop(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.wanted && !this.blocked) {
        const wait = this.lastWriteAt + CHECKPOINT_INTERVAL_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        // flushSync (close, verify) may have written this head or a newer one meanwhile.
        if (!this.wanted || this.blocked || this.wanted.seq <= (this.written?.seq ?? -1)) break;
        this.lastWriteAt = performance.now();
        const head = this.wanted;
        this.wanted = undefined;
        const tmp = `${this.tmpPrefix}-${++this.writes}.tmp`;
        try {
          const text = checkpointText(makeCheckpoint(this.key(), head.seq, head.hash));
          const fh = await open(tmp, 'w', 0o600);
          try {
            await fh.writeFile(text);
            await fh.sync();
          } finally {
            await fh.close();
          }
          this.install(tmp, head);
        } catch (e) {
          this.failed(e, tmp);
        }
      }
    } finally {
      this.inFlight = false;
    }
  }

  /**
   * Renames the written file over the checkpoint unless a newer head is already there (written by
   * flushSync meanwhile, or by another process or trail on the same file). Synchronous, so the
   * check and the rename cannot interleave with another write of this thread.
   */
  private install(tmp: string, head: { seq: number; hash: string }): void {
    const current = readCheckpointFile(this.file);
    const newer = (this.written?.seq ?? -1) >= head.seq || ('checkpoint' in current && current.checkpoint.seq > head.seq);
    if (newer) unlinkSync(tmp);
    else {
      renameSync(tmp, this.file);
      this.written = head;
      this.refreshes++;
    }
  }

  /** Temporary files of writers that died before their rename (`audit.head.<pid>-<n>-<m>.tmp`). */
  private removeStaleTemporaries(): void {
    const prefix = `${basename(this.file)}.`;
    try {
      for (const name of readdirSync(dirname(this.file))) {
        const pid = Number(/^(\d+)-\d+-\d+\.tmp$/.exec(name.slice(prefix.length))?.[1]);
        if (name.startsWith(prefix) && pid && !processAlive(pid)) unlinkSync(join(dirname(this.file), name));
      }
    } catch {
      // Only tidiness: a leftover temporary file is never read.
    }
  }

  private failed(e: unknown, tmp: string): void {
    try {
      unlinkSync(tmp);
    } catch {
      // Nothing was created.
    }
    // The events are committed in audit.db; only the anchor lags (verify still passes).
    this.log.error({ file: this.file, err: (e as Error).message }, 'audit trail: cannot refresh the chain-head checkpoint');
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
