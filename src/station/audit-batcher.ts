// The workflow's appends to the audit trail, gathered across fixtures so that the trail commits the
// events of several devices in one transaction (one fsync, one set of WAL pages) instead of one
// commit for every device or two. Each device waits on the trail twice (before its secret is sent,
// and for its record), and with 8 fixtures those waits come a few milliseconds apart: the trail's
// own group commit (src/db/group-commit.ts) only joins what arrives within one commit's duration.
//
// An event is held here at most `windowMs`, and not at all once every device in progress is waiting
// on the trail (nothing else can join: a line of one fixture never waits). Nothing is acknowledged
// early: each append settles when the trail says its event is durable, or fails as the trail fails
// it (the workflow's line gate retries it). Events held here are in memory, like the events the
// workflow buffers between its two commits: a device is never reported done before they are on disk.
import type { AuditSink } from './provisioning-workflow.ts';

export interface AuditBatcherOptions {
  /** Longest an event waits for companions before it goes to the trail. */
  windowMs: number;
  /** Devices in progress now: once each of them has events waiting here, they go at once. */
  devicesInProgress: () => number;
}

interface Held {
  event: Parameters<AuditSink['append']>[0];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class AuditBatcher implements AuditSink {
  readonly #trail: AuditSink;
  readonly #opts: AuditBatcherOptions;
  #held: Held[] = [];
  /** Fixtures with events held (a device's events carry its fixture). */
  #waiting = new Set<string | undefined>();
  #timer: NodeJS.Timeout | undefined;
  #checkQueued = false;
  #stats = { flushes: 0, events: 0 };

  constructor(trail: AuditSink, opts: AuditBatcherOptions) {
    this.#trail = trail;
    this.#opts = opts;
  }

  append(event: Parameters<AuditSink['append']>[0]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#held.push({ event, resolve, reject });
      this.#waiting.add(event.fixture);
      // A device appends all its buffered events in one go: decide once they are all here.
      if (!this.#checkQueued) {
        this.#checkQueued = true;
        queueMicrotask(() => this.#check());
      }
    });
  }

  /** Hands everything held to the trail now (before a batch is opened or closed, and at close). */
  flushNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const held = this.#held;
    if (held.length === 0) return;
    this.#held = [];
    this.#waiting.clear();
    this.#stats.flushes++;
    this.#stats.events += held.length;
    // In one synchronous pass: the trail commits what arrives in one turn together.
    for (const h of held) {
      try {
        Promise.resolve(this.#trail.append(h.event)).then(h.resolve, h.reject);
      } catch (e) {
        h.reject(e);
      }
    }
  }

  /** Hand-offs to the trail so far, and the events they carried. */
  stats(): { flushes: number; events: number } {
    return { ...this.#stats };
  }

  #check(): void {
    this.#checkQueued = false;
    if (this.#held.length === 0) return;
    if (this.#waiting.size >= this.#opts.devicesInProgress()) {
      this.flushNow();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flushNow();
    }, this.#opts.windowMs);
  }
}
