// Worker threads for the expensive part of issuing a certificate: importing the device key, verifying the CSR's
// self-signature and signing the certificate. The event loop keeps only parsing and encoding (~tens of µs), so
// an HTTP server on 2 cores can spend both on requests. Jobs queued in one loop turn go to a thread as one message.
// A job the native addon does whole (an EC CSR, an EC CA key) always runs on the loop: its crypto costs about
// what a hand-off does. Other jobs (RSA, or no addon) go to a thread only when the loop is saturated: see run().
// The threads run signing-worker.ts, an ordinary module started like every worker (common/typescript-worker.ts).
import type { KeyObject } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../common/typescript-worker.ts';
import { nativeEcSigns } from '../native-addon.ts';
import { PairingError } from '../pairing-errors.ts';
import { PairingSetupError } from '../setup-errors.ts';
import { CaError } from './ca-errors.ts';
import { type UnverifiedCsr, verifyCsr } from './csr.ts';
import { signTbs } from './x509-builder.ts';

const WORKER = new URL('./signing-worker.ts', import.meta.url);

export interface SigningJob {
  /** Checked on the thread (proof of possession) before anything is signed. */
  csr: UnverifiedCsr;
  /** The TBSCertificate to sign with the CA key once the CSR checked out. */
  tbs: Buffer;
}

/** One job's answer: the CA's signature, the CSR's refusal (INVALID_CSR's message), or our own failure. */
export interface SigningReply {
  id: number;
  signature?: Uint8Array;
  refusal?: string;
  failure?: string;
}

interface Pending {
  resolve: (signature: Buffer) => void;
  reject: (e: unknown) => void;
}

interface Thread {
  worker: Worker;
  inFlight: Map<number, Pending>;
  outbox: (SigningJob & { id: number })[];
  flushScheduled: boolean;
}

// One core is left to the event loop (HTTP, storage): on 2 cores a single thread gets every job of a loop turn
// in one message, and the server spends ~10% less CPU per credentials request than with two threads that split
// the batches and preempt the event loop (bench/pairing.bench.ts, server CPU µs/request).
export const DEFAULT_SIGNING_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));

/** Event-loop utilisation above which signing jobs go to the threads. */
const BUSY_LOOP = 0.9;
/** Spare CPU (in cores: idle, plus what our threads already use) below which a thread would only add its cost. */
const SPARE_CORES = 0.5;

/** CPU time (ms) the machine's cores spent idle so far. */
function idleMs(): number {
  let idle = 0;
  for (const c of cpus()) idle += c.times.idle;
  return idle;
}

export class SigningThreads {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;
  /** Whether the event loop was nearly saturated, with a core to spare, over the last ~100 ms (then jobs go to the threads). */
  private loopBusy = false;
  private elu = performance.eventLoopUtilization();
  private eluAt = performance.now();
  private cpuAt = process.cpuUsage();
  private idleAt = idleMs();
  private readonly counts = { inline: 0, threaded: 0 };
  /** Whether the addon is active and signs with the CA key: then a job whose CSR key is EC is all native, and cheap. */
  private readonly nativeSigning: boolean;

  constructor(
    private readonly caKey: KeyObject,
    private readonly signHash: string,
    private readonly size: number = DEFAULT_SIGNING_THREADS,
    /**
     * Whether this job should go to a thread now. Default: a costly job (see isCostly), while the event loop was
     * > 90 % busy lately with a core to spare.
     */
    private readonly offload: (job: SigningJob) => boolean = (job) => this.isCostly(job) && this.isLoopBusy(),
  ) {
    if (!Number.isInteger(size) || size < 0 || size > 64)
      throw new PairingSetupError('INVALID_ARGUMENT', 'Signing threads must be 0 to 64');
    this.nativeSigning = nativeEcSigns(caKey, signHash);
  }

  /**
   * Whether the job's crypto costs well above a hand-off to a thread (55–125 µs of CPU): an RSA CSR (its key
   * imported and checked by node:crypto), a CA key the addon does not sign with, or no addon at all. With the
   * addon, an EC CSR and an EC CA key take ~60–130 µs together: on a thread they only added the hand-off
   * (fresh connections on an idle 2-core machine, 38–52 % of the jobs offloaded: 30–210 µs more CPU per
   * request and no more req/s than with every job on the loop).
   */
  isCostly(job: SigningJob): boolean {
    return !(this.nativeSigning && job.csr.key.ec !== undefined);
  }

  /** The CA's signature over `job.tbs`, once the CSR's self-signature verified (else PairingError INVALID_CSR). */
  run(job: SigningJob): Promise<Buffer> {
    if (this.closed) return Promise.reject(new CaError('CA_CLOSED'));
    // A job handed to a thread costs 55–125 µs more CPU (copy, wake-up, copy back) for ~60–130 µs of crypto with
    // the native addon (~300 without): worth it only for costly jobs when the event loop is the bottleneck.
    // Otherwise the job runs here, with the very code the threads run (verifyCsr, signTbs).
    if (this.size === 0 || !this.offload(job)) {
      this.counts.inline++;
      try {
        verifyCsr(job.csr);
        return Promise.resolve(signTbs(job.tbs, this.caKey, this.signHash));
      } catch (e) {
        if (e instanceof PairingError && e.code === 'INVALID_CSR') return Promise.reject(e);
        return Promise.reject(new CaError('CA_SIGNING_FAILED', `Certificate signing failed (${(e as Error).message})`));
      }
    }
    this.counts.threaded++;
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      if (thread.inFlight.size === 0) thread.worker.ref(); // keep the process alive while a job is out
      thread.inFlight.set(id, { resolve, reject });
      thread.outbox.push({ ...job, id });
      if (!thread.flushScheduled) {
        thread.flushScheduled = true;
        setImmediate(() => this.flush(thread));
      }
    });
  }

  /**
   * Over the last ~100 ms: the event loop was more than 90 % busy, and the machine had at least half a core
   * to spare (idle, or already running our threads). Without the spare core (a 2-core machine whose other
   * core serves the kernel, the clients or other processes) a thread only adds its hand-off cost: measured,
   * it then cut throughput too (credentials, fresh connections: 310–330 req/s with 28–44 % of the jobs on a
   * thread, 815–1,010 req/s inline).
   */
  private isLoopBusy(): boolean {
    const now = performance.now();
    const wallMs = now - this.eluAt;
    if (wallMs >= 100) {
      const elu = performance.eventLoopUtilization();
      const window = performance.eventLoopUtilization(elu, this.elu);
      const cpu = process.cpuUsage(this.cpuAt);
      const idle = idleMs();
      // Our process's CPU beyond the loop's own busy time: the signing threads (and libuv's pool).
      const threadsMs = Math.max(0, (cpu.user + cpu.system) / 1000 - window.active);
      const spareCores = (idle - this.idleAt + threadsMs) / wallMs;
      this.loopBusy = window.utilization > BUSY_LOOP && spareCores >= SPARE_CORES;
      this.elu = elu;
      this.eluAt = now;
      this.cpuAt = process.cpuUsage();
      this.idleAt = idle;
    }
    return this.loopBusy;
  }

  /** Jobs run on the event loop and on the threads (how the hand-off decided). */
  stats(): { inline: number; threaded: number } {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    for (const t of threads) this.fail(t, new CaError('CA_CLOSED'));
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
    const worker = startWorker(WORKER, { caKey: this.caKey, signHash: this.signHash });
    worker.unref();
    const thread: Thread = { worker, inFlight: new Map(), outbox: [], flushScheduled: false };
    worker.on('message', (replies: SigningReply[]) => this.settle(thread, replies));
    const broken = (why: string) => {
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      this.fail(thread, new CaError('CA_SIGNING_FAILED', `A certificate signing thread stopped (${why})`));
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

  private settle(thread: Thread, replies: SigningReply[]): void {
    for (const r of replies) {
      const p = thread.inFlight.get(r.id);
      if (!p) continue;
      thread.inFlight.delete(r.id);
      if (r.signature) p.resolve(Buffer.from(r.signature.buffer, r.signature.byteOffset, r.signature.byteLength));
      else if (r.refusal !== undefined) p.reject(new PairingError('INVALID_CSR', { message: r.refusal }));
      else p.reject(new CaError('CA_SIGNING_FAILED', `Certificate signing failed on its thread (${r.failure})`));
    }
    if (thread.inFlight.size === 0) thread.worker.unref();
  }

  private fail(thread: Thread, error: Error): void {
    for (const p of thread.inFlight.values()) p.reject(error);
    thread.inFlight.clear();
    thread.outbox.length = 0;
  }
}
