// What a pairing store tells /metrics: latency of every store operation (by feature and operation:
// a bounded set of series), operations in flight, unavailability, the last health check, and the
// engine's own figures (group commit for SQLite, the pool for PostgreSQL).

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Operations that commit a write (when they succeed); the rest only read. */
const WRITES = new Set([
  'create',
  'register',
  'unregister',
  'setInhibited',
  'recordCredentials',
  'insertToken',
  'revokeToken',
  'claim',
  'sign',
  'reopen',
  'importDevices',
  'append',
]);

export class StoreMetrics {
  readonly #ops = new Map<string, Histogram>();
  inFlight = 0;
  /** Write operations committed (each one transaction). */
  committedWrites = 0;
  unavailable = 0;
  lastHealth: { ok: boolean; latencyMs: number } | undefined;

  observe(op: string, seconds: number): void {
    let h = this.#ops.get(op);
    if (!h) {
      h = { counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.#ops.set(op, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** Prometheus lines: these figures, then the engine's `extra` gauges and counters. */
  render(engine: string, extra: { name: string; help: string; type: 'gauge' | 'counter'; value: number }[]): string {
    const out: string[] = [];
    const metric = (name: string, help: string, type: string, value: number) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{engine="${engine}"} ${value}`);
    out.push(
      '# HELP imprint_pairing_db_operation_seconds Store operations by feature.operation (one transaction or query each).',
    );
    out.push('# TYPE imprint_pairing_db_operation_seconds histogram');
    for (const [op, h] of this.#ops) {
      const labels = `engine="${engine}",op="${op}"`;
      BUCKETS.forEach((le, i) => {
        out.push(`imprint_pairing_db_operation_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`);
      });
      out.push(`imprint_pairing_db_operation_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`imprint_pairing_db_operation_seconds_sum{${labels}} ${h.sum}`);
      out.push(`imprint_pairing_db_operation_seconds_count{${labels}} ${h.count}`);
    }
    metric('imprint_pairing_db_operations_in_flight', 'Store operations started and not yet answered.', 'gauge', this.inFlight);
    metric(
      'imprint_pairing_db_unavailable_total',
      'Store operations that failed because the database did not answer.',
      'counter',
      this.unavailable,
    );
    if (this.lastHealth) {
      metric(
        'imprint_pairing_db_up',
        'Whether the last health check reached the database (1) or not (0).',
        'gauge',
        this.lastHealth.ok ? 1 : 0,
      );
      metric(
        'imprint_pairing_db_health_seconds',
        'Round trip of the last health check.',
        'gauge',
        this.lastHealth.latencyMs / 1000,
      );
    }
    for (const e of extra) metric(e.name, e.help, e.type, e.value);
    return `${out.join('\n')}\n`;
  }
}

/**
 * `feature` with each method timed under `<name>.<method>`, and its failures passed through
 * `mapError` (e.g. unreachable database → DB_UNAVAILABLE).
 */
export function instrument<T extends object>(name: string, feature: T, m: StoreMetrics, mapError: (e: unknown) => unknown): T {
  const out = {} as Record<string, unknown>;
  for (const [key, fn] of Object.entries(feature)) {
    if (typeof fn !== 'function') continue;
    const op = `${name}.${key}`;
    const writes = WRITES.has(key);
    out[key] = async (...args: unknown[]) => {
      const start = performance.now();
      m.inFlight++;
      try {
        const result = await fn(...args);
        if (writes) m.committedWrites++;
        return result;
      } catch (e) {
        const mapped = mapError(e);
        if (mapped !== e && (mapped as { code?: string }).code === 'DB_UNAVAILABLE') m.unavailable++;
        throw mapped;
      } finally {
        m.inFlight--;
        m.observe(op, (performance.now() - start) / 1000);
      }
    };
  }
  return out as T;
}
