// Prometheus text exposition for the pairing server: request counts and latency by route and
// status, and domain counters. Labels use route patterns, never realm names or device ids,
// so the number of series stays bounded.
import { nativeEcdsa } from '../native-addon.ts';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class PairingMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly events = new Map<string, number>();
  private readonly startedAt = Date.now();
  /** The store's group-commit counters, when the core exposes them. */
  storeStats: (() => { batches: number; writes: number }) | undefined;
  /** The store's own lines (latency, pool, health), when the core exposes them. */
  storeText: (() => string) | undefined;
  /** Signing jobs done on the event loop and on the signing threads, when the core exposes them. */
  signingStats: (() => { inline: number; threaded: number }) | undefined;

  /** One finished HTTP request. `route` is the route pattern (e.g. /v1/:realm/agent/devices). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\t${route}`;
    const countKey = `${key}\t${status}`;
    this.requests.set(countKey, (this.requests.get(countKey) ?? 0) + 1);
    let h = this.durations.get(key);
    if (!h) {
      h = { counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.durations.set(key, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** Domain events: registrations, credentials issued, verifications. */
  count(event: 'registrations' | 'unregistrations' | 'credentials_issued' | 'credentials_verified' | 'claims' | 'signs'): void {
    this.events.set(event, (this.events.get(event) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP imprint_pairing_http_requests_total HTTP requests by method, route and status.');
    out.push('# TYPE imprint_pairing_http_requests_total counter');
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split('\t');
      out.push(`imprint_pairing_http_requests_total{method="${method}",route="${escapeLabel(route)}",status="${status}"} ${n}`);
    }
    out.push('# HELP imprint_pairing_http_request_duration_seconds HTTP request latency by method and route.');
    out.push('# TYPE imprint_pairing_http_request_duration_seconds histogram');
    for (const [key, h] of this.durations) {
      const [method, route] = key.split('\t');
      const labels = `method="${method}",route="${escapeLabel(route)}"`;
      BUCKETS.forEach((le, i) => {
        out.push(`imprint_pairing_http_request_duration_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`);
      });
      out.push(`imprint_pairing_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`imprint_pairing_http_request_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`imprint_pairing_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    const events: Array<[string, string]> = [
      ['registrations', 'Devices registered (each registration, including re-registrations).'],
      ['unregistrations', 'Devices unregistered.'],
      ['credentials_issued', 'Client certificates issued.'],
      ['credentials_verified', 'Client certificates verified.'],
      ['claims', 'Devices claimed with a fleet claim token.'],
      ['signs', 'Foundries devices registered through /sign.'],
    ];
    for (const [name, help] of events) {
      out.push(`# HELP imprint_pairing_${name}_total ${help}`);
      out.push(`# TYPE imprint_pairing_${name}_total counter`);
      out.push(`imprint_pairing_${name}_total ${this.events.get(name) ?? 0}`);
    }
    const store = this.storeStats?.();
    if (store) {
      out.push('# HELP imprint_pairing_store_commits_total Durable commits (one fsync each; writes are grouped).');
      out.push('# TYPE imprint_pairing_store_commits_total counter');
      out.push(`imprint_pairing_store_commits_total ${store.batches}`);
      out.push('# HELP imprint_pairing_store_writes_total Writes committed (writes / commits = group commit size).');
      out.push('# TYPE imprint_pairing_store_writes_total counter');
      out.push(`imprint_pairing_store_writes_total ${store.writes}`);
    }
    const signing = this.signingStats?.();
    if (signing) {
      out.push(
        '# HELP imprint_pairing_signing_jobs_total CSR checks and signatures, by where they ran (threads only when the event loop is saturated).',
      );
      out.push('# TYPE imprint_pairing_signing_jobs_total counter');
      out.push(`imprint_pairing_signing_jobs_total{on="event_loop"} ${signing.inline}`);
      out.push(`imprint_pairing_signing_jobs_total{on="thread"} ${signing.threaded}`);
    }
    out.push(
      '# HELP imprint_pairing_native_ecdsa 1 when CSR checks and EC certificate signatures use the native addon, 0 when node:crypto (not built, or IMPRINT_NATIVE_ECDSA=off).',
    );
    out.push('# TYPE imprint_pairing_native_ecdsa gauge');
    out.push(`imprint_pairing_native_ecdsa ${nativeEcdsa.active ? 1 : 0}`);
    const storeText = this.storeText?.();
    if (storeText) out.push(storeText.trimEnd());
    out.push('# HELP process_resident_memory_bytes Resident memory size in bytes.');
    out.push('# TYPE process_resident_memory_bytes gauge');
    out.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    out.push('# HELP imprint_pairing_uptime_seconds Seconds since the server started.');
    out.push('# TYPE imprint_pairing_uptime_seconds gauge');
    out.push(`imprint_pairing_uptime_seconds ${(Date.now() - this.startedAt) / 1000}`);
    return `${out.join('\n')}\n`;
  }
}
