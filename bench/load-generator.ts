// autocannon, typed with the few fields our HTTP benchmarks use (the package ships no types).
import { createRequire } from 'node:module';

export interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: LoadRequest) => LoadRequest;
}

export interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  /** Seconds to run, or… */
  duration?: number;
  /** …a number of requests to send. */
  amount?: number;
  pipelining: number;
  requests: LoadRequest[];
}) => Promise<LoadResult>;
