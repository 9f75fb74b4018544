// Worker threads for the expensive part of issuing a certificate: importing the device key, verifying the CSR's
// self-signature and signing the certificate. The event loop keeps only parsing and encoding (~tens of µs), so
// an HTTP server on 2 cores can spend both on requests. Jobs queued in one loop turn go to a thread as one message.
//
// The thread's code is a small plain-JavaScript string (run with `eval`), not a TypeScript module: workers do not
// inherit tsx's loader, and this keeps them independent of how the process was started. It repeats, on purpose,
// the three crypto calls of importDescribedKey (public-key-info.ts), verifyCsr (csr.ts) and signStructure.
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ImprintError } from '../../common/errors.ts';

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, sign, verify } = require('node:crypto');
const { caKey, signHash } = workerData;
parentPort.on('message', (jobs) => {
  const out = [];
  for (const j of jobs) {
    let key;
    try {
      key = j.jwk ? createPublicKey({ key: j.jwk, format: 'jwk' }) : createPublicKey({ key: j.spki, format: 'der', type: 'spki' });
    } catch {
      out.push({ id: j.id, outcome: 'BAD_KEY' });
      continue;
    }
    let ok = false;
    try {
      ok = verify(j.hash, j.signedData, { key, ...j.options }, j.signature);
    } catch {}
    if (!ok) out.push({ id: j.id, outcome: 'BAD_SIGNATURE' });
    else out.push({ id: j.id, outcome: 'OK', signature: sign(signHash, j.tbs, { key: caKey, dsaEncoding: 'der' }) });
  }
  parentPort.postMessage(out);
});
`;

export interface SigningJob {
  jwk?: JsonWebKey;
  spki: Buffer;
  hash: string;
  options: { dsaEncoding?: 'der'; padding?: number; saltLength?: number };
  signedData: Buffer;
  signature: Buffer;
  /** The TBSCertificate to sign with the CA key once the CSR checked out. */
  tbs: Buffer;
}

export type SigningOutcome = { ok: true; signature: Buffer } | { ok: false; reason: 'BAD_KEY' | 'BAD_SIGNATURE' };

interface Pending {
  resolve: (o: SigningOutcome) => void;
  reject: (e: unknown) => void;
}

interface Thread {
  worker: Worker;
  inFlight: Map<number, Pending>;
  outbox: (SigningJob & { id: number })[];
  flushScheduled: boolean;
}

interface Reply {
  id: number;
  outcome: 'OK' | 'BAD_KEY' | 'BAD_SIGNATURE';
  signature?: Uint8Array;
}

// One core is left to the event loop (HTTP, storage): on 2 cores a single thread gets every job of a loop turn
// in one message, and the server spends ~10% less CPU per credentials request than with two threads that split
// the batches and preempt the event loop (bench/pairing.bench.ts, server CPU µs/request).
export const DEFAULT_SIGNING_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));

export class SigningThreads {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly caKey: KeyObject,
    private readonly signHash: string,
    private readonly size: number = DEFAULT_SIGNING_THREADS,
  ) {
    if (!Number.isInteger(size) || size < 1 || size > 64)
      throw new ImprintError('INVALID_ARGUMENT', 'Signing threads must be 1 to 64');
  }

  run(job: SigningJob): Promise<SigningOutcome> {
    if (this.closed) return Promise.reject(new ImprintError('CA_CLOSED', 'The certificate authority was closed'));
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<SigningOutcome>((resolve, reject) => {
      if (thread.inFlight.size === 0) thread.worker.ref(); // keep the process alive while a job is out
      thread.inFlight.set(id, { resolve, reject });
      thread.outbox.push({ ...job, id });
      if (!thread.flushScheduled) {
        thread.flushScheduled = true;
        setImmediate(() => this.flush(thread));
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    for (const t of threads) this.fail(t, new ImprintError('CA_CLOSED', 'The certificate authority was closed'));
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  /** The least busy thread; a new one while below the pool size. */
  private pick(): Thread {
    let best: Thread | undefined;
    for (const t of this.threads) if (!best || t.inFlight.size < best.inFlight.size) best = t;
    if (best && (best.inFlight.size === 0 || this.threads.length >= this.size)) return best;
    return this.spawn();
  }

  private spawn(): Thread {
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { caKey: this.caKey, signHash: this.signHash } });
    worker.unref();
    const thread: Thread = { worker, inFlight: new Map(), outbox: [], flushScheduled: false };
    worker.on('message', (replies: Reply[]) => this.settle(thread, replies));
    const broken = (why: string) => {
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      this.fail(thread, new ImprintError('CA_SIGNING_FAILED', `A certificate signing thread stopped (${why})`));
    };
    worker.on('error', (e) => broken(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => broken(`exit ${code}`));
    this.threads.push(thread);
    return thread;
  }

  private flush(thread: Thread): void {
    thread.flushScheduled = false;
    const jobs = thread.outbox.splice(0);
    if (jobs.length > 0 && this.threads.includes(thread)) thread.worker.postMessage(jobs);
  }

  private settle(thread: Thread, replies: Reply[]): void {
    for (const r of replies) {
      const p = thread.inFlight.get(r.id);
      if (!p) continue;
      thread.inFlight.delete(r.id);
      if (r.outcome === 'OK' && r.signature) {
        p.resolve({ ok: true, signature: Buffer.from(r.signature.buffer, r.signature.byteOffset, r.signature.byteLength) });
      } else p.resolve({ ok: false, reason: r.outcome === 'BAD_KEY' ? 'BAD_KEY' : 'BAD_SIGNATURE' });
    }
    if (thread.inFlight.size === 0) thread.worker.unref();
  }

  private fail(thread: Thread, error: ImprintError): void {
    for (const p of thread.inFlight.values()) p.reject(error);
    thread.inFlight.clear();
    thread.outbox.length = 0;
  }
}
