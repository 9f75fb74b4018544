// A pairing server on 127.0.0.1 (port 0) over a throwaway embedded core, for HTTP tests.
import type { Logger } from '../../src/common/logger.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { buildPairingServer, type PairingFastify } from '../../src/pairing/http/server.ts';
import { openTestCore, type TestCore } from '../helpers/pairing-core.ts';

export interface TestServer {
  base: string;
  app: PairingFastify;
  t: TestCore;
  realm: string;
  /** An agent token for the test realm: all access unless scopes are given. */
  token(opts?: { scopes?: string[]; ttlSeconds?: number }): Promise<string>;
  /** JSON request helper: returns status, headers and parsed body (or text). */
  request(method: string, path: string, opts?: { body?: unknown; auth?: string; rawBody?: string }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  body: any;
  text: string;
}

export async function startTestServer(
  opts: { deviceRegistrationLimit?: number; logger?: Logger; now?: () => Date; defaultBrokerUrl?: string } = {},
): Promise<TestServer> {
  const t = await openTestCore({ deviceRegistrationLimit: opts.deviceRegistrationLimit, now: opts.now });
  const app = await buildPairingServer({ core: t.core, logger: opts.logger, defaultBrokerUrl: opts.defaultBrokerUrl });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    base,
    app,
    t,
    realm: t.realm.name,
    token: (o = {}) =>
      mintAgentToken({ privateKey: t.agentKeys.privateKeyPem, scopes: o.scopes, ttlSeconds: o.ttlSeconds ?? 600 }),
    async request(method, path, o = {}) {
      const headers: Record<string, string> = {};
      if (o.auth) headers.authorization = o.auth;
      let body: string | undefined;
      if (o.rawBody !== undefined) body = o.rawBody;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {}
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      await app.close();
      await t.cleanup();
    },
  };
}
