// Web mode's trust boundary, route by route. The routes come from the router itself (the server
// records each one as it is registered), so a route added tomorrow is swept too: every spelling
// of its path (case, doubled and encoded slashes, percent-encoding of each character, dot
// segments, trailing slash, `;` parameters, absolute form) with every method answers 401 or 404
// without the session token, and the station API is never called. The token in the query opens
// the event stream only; a state change needs it in the header, a JSON body, and our own origin.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_PREFIX, ROUTES } from '../../src/api/api-routes.ts';
import { OperatorAuth } from '../../src/api/operator-auth.ts';
import { ensureRendererBuilt } from '../../src/api/renderer-build.ts';
import type { StationApi } from '../../src/api/station-api.ts';
import { StationService } from '../../src/api/station-service.ts';
import { startWebServer, type WebServer } from '../../src/api/web-server.ts';
import { FileSecretStore } from '../../src/station/secret-store.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const ADMIN_PIN = '482915';
const NOT_FOUND = JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Not found' } });

interface Answer {
  status: number;
  body: string;
}

/** The station API with a log of every method called through it. */
function recording(api: StationApi, calls: string[]): StationApi {
  return new Proxy(api, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return value.apply(target, args);
      };
    },
  });
}

/** A concrete path for a route pattern (`:id` → a value). */
function concrete(url: string): string {
  return url.replace(/:(\w+)/g, 'x1');
}

const pct = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** Every spelling of `path` a browser, a proxy or an attacker might send, except `path` itself. */
function spellings(path: string, origin: string): string[] {
  const out = new Set<string>();
  const slashes = [...path].flatMap((c, i) => (c === '/' ? [i] : []));
  const segments = path.split('/').slice(1);
  const at = (i: number, insert: string, drop = 0) => path.slice(0, i) + insert + path.slice(i + drop);

  out.add(path.toUpperCase());
  out.add(`/${segments.map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join('/')}`);
  // From 1: a request target must start with `/` (HTTP's parser refuses the request otherwise).
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (c.toUpperCase() !== c) out.add(at(i, c.toUpperCase(), 1));
    // Percent-encoding of each character, in both hex cases, and double-encoded.
    out.add(at(i, pct(c), 1));
    out.add(at(i, pct(c).toLowerCase(), 1));
    out.add(at(i, `%25${pct(c).slice(1)}`, 1));
  }
  out.add([...path].map((c) => (c === '/' ? c : pct(c))).join('')); // every character but the slashes
  for (const i of slashes) {
    out.add(at(i, '/')); // doubled slash
    out.add(at(i, '/.')); // a dot segment
    out.add(at(i, '/x/..'));
    out.add(at(i, '/%2e'));
    out.add(at(i, '/x/%2e%2e'));
    if (i > 0) {
      out.add(at(i, '%2F', 1)); // encoded slash
      out.add(at(i, '%2f', 1));
      out.add(at(i, '\\', 1));
      out.add(at(i, '%5C', 1));
      out.add(at(i, ';x=1')); // `;` parameter on a segment
    }
  }
  for (const tail of ['/', '/.', '/..', ';', ';x=1', '%20', '%00', '%0a', '.json', '#frag', '?', '/?x=1']) out.add(path + tail);
  out.add(`/.${path}`);
  out.add(`/x/..${path}`);
  out.add(`${origin}${path}`); // absolute form
  out.add(`${origin.toUpperCase()}${path}`);
  out.delete(path);
  return [...out];
}

describe('web mode: every route, every spelling, every method', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-sec-routes-'));
  const calls: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let service: StationService;
  let web: WebServer;
  let staticDir: string;

  before(async () => {
    staticDir = await ensureRendererBuilt();
    const { auth } = OperatorAuth.open(dataDir, { IMPRINT_ADMIN_PIN: ADMIN_PIN });
    service = await StationService.open({
      dataDir,
      auth,
      secrets: new FileSecretStore(join(dataDir, 'secrets.json')),
      simulate: { fixtures: 1, seed: 3, faultRate: 0 },
    });
    web = await startWebServer({ api: recording(service, calls), staticDir });
  });
  after(async () => {
    agent.destroy();
    await web?.close();
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      // An explicit length: Node sends DELETE and OPTIONS bodies unframed otherwise.
      const framed = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
      const req = request({ host: '127.0.0.1', port: web.port, method, path, headers: framed, agent }, (res) => {
        // The event stream never ends: its status is the answer.
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, body: '' });
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const sessionRoutes = () => web.routes.filter((r) => r.access !== 'public');

  test('the router holds every route of the station API table, each behind the session token', () => {
    const held = new Set(sessionRoutes().map((r) => `${r.method} ${r.url}`));
    for (const [name, r] of Object.entries(ROUTES)) {
      assert.ok(held.has(`${r.method} ${API_PREFIX}${r.path}`), `${name} is registered and not public`);
    }
    const streams = web.routes.filter((r) => r.access === 'session-stream');
    assert.deepEqual(
      streams.map((r) => `${r.method} ${r.url}`),
      [`GET ${API_PREFIX}${ROUTES.events.path}`],
      'only the event stream takes the token in its URL',
    );
  });

  test('what is public is the built UI and nothing else: GET of / and of its files', () => {
    const files = listFiles(staticDir).map((f) => `/${relative(staticDir, f).split('\\').join('/')}`);
    const pub = web.routes.filter((r) => r.access === 'public');
    assert.ok(pub.length > 1, 'the UI is served');
    for (const r of pub) {
      assert.equal(r.method, 'GET', `${r.url} is public for GET only`);
      assert.ok(r.url === '/' || files.includes(r.url), `${r.url} is a file of the built UI`);
      assert.ok(!r.url.startsWith(`${API_PREFIX}/`), `${r.url} is not under ${API_PREFIX}`);
    }
  });

  test('no spelling of any route answers without the token, with any method, and the API is never called', async () => {
    const origin = `http://127.0.0.1:${web.port}`;
    const unexpected: string[] = [];
    let sent = 0;
    const jobs: (() => Promise<void>)[] = [];
    for (const route of sessionRoutes()) {
      const path = concrete(route.url);
      for (const spelled of [path, ...spellings(path, origin)]) {
        for (const method of METHODS) {
          jobs.push(async () => {
            const headers: Record<string, string> =
              method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'application/json' };
            const body = method === 'GET' || method === 'HEAD' ? undefined : '{}';
            const a = await send(method, spelled, headers, body);
            sent++;
            const ok = a.status === 401 || a.status === 404 || a.status === 405 || a.status === 421;
            if (!ok) unexpected.push(`${method} ${spelled} → ${a.status}`);
            // A miss tells nothing: the same bare body whatever was asked (HEAD has none).
            if (a.status === 404 && method !== 'HEAD' && a.body !== NOT_FOUND)
              unexpected.push(`${method} ${spelled} → ${a.body}`);
          });
        }
      }
    }
    await runAll(jobs, 16);
    assert.deepEqual(unexpected, [], 'every spelling answers 401/404 without the token');
    assert.deepEqual(calls, [], 'no request without the token reached the station API');
    assert.ok(sent > 5000, `swept ${sent} requests`);
    console.log(`# swept ${sent} requests over ${sessionRoutes().length} routes`);
  });

  test('a wrong token, a token in the query (except for the stream) and a non-Bearer scheme all get 401', async () => {
    for (const route of sessionRoutes()) {
      const path = concrete(route.url);
      const attempts: [string, Record<string, string>][] = [
        [path, { authorization: 'Bearer not-the-token' }],
        [path, { authorization: `Bearer ${web.token}x` }],
        [path, { authorization: `Basic ${Buffer.from(`x:${web.token}`).toString('base64')}` }],
        [path, { authorization: web.token }],
        [`${path}?token=not-the-token`, {}],
      ];
      if (route.access !== 'session-stream') attempts.push([`${path}?token=${web.token}`, {}]);
      for (const [p, headers] of attempts) {
        const a = await send(
          route.method,
          p,
          route.method === 'GET' ? headers : { ...headers, 'content-type': 'application/json' },
          route.method === 'GET' ? undefined : '{}',
        );
        assert.equal(a.status, 401, `${route.method} ${p} ${JSON.stringify(headers)}`);
      }
    }
    assert.deepEqual(calls, []);
  });

  test('with the token: another origin or site is refused, and so is a body that is not JSON', async () => {
    const auth = { authorization: `Bearer ${web.token}` };
    for (const route of sessionRoutes()) {
      const path = concrete(route.url);
      const crossings: Record<string, string>[] = [
        { origin: 'http://127.0.0.1:1' },
        { origin: 'null' },
        { origin: `http://localhost.evil.example:${web.port}` },
        { 'sec-fetch-site': 'same-site' },
        { 'sec-fetch-site': 'cross-site' },
      ];
      for (const cross of crossings) {
        const a = await send(route.method, path, { ...auth, ...cross });
        assert.equal(a.status, 403, `${route.method} ${path} from ${JSON.stringify(cross)}`);
      }
      if (route.method === 'GET') continue;
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
        const headers: Record<string, string> = type ? { ...auth, 'content-type': type } : auth;
        const a = await send(route.method, path, headers, '{"workOrder":"EVIL"}');
        assert.equal(a.status, 415, `${route.method} ${path} with a ${type || 'untyped'} body`);
      }
    }
    assert.deepEqual(calls, [], 'none of these reached the station API');
  });

  test('the right token on the canonical spelling reaches every route', async () => {
    const auth = { authorization: `Bearer ${web.token}` };
    const bodies: Record<string, unknown> = {
      [`POST ${API_PREFIX}${ROUTES.signIn.path}`]: { name: 'Route Sweep' },
      [`POST ${API_PREFIX}${ROUTES.submitScan.path}`]: { text: 'SN-SWEEP-1' },
      [`POST ${API_PREFIX}${ROUTES.openBatch.path}`]: { workOrder: 'WO-SWEEP' },
      [`PATCH ${API_PREFIX}${ROUTES.updateSettings.path}`]: { patch: {}, pin: ADMIN_PIN },
      [`POST ${API_PREFIX}${ROUTES.testPort.path}`]: { path: '/dev/imprint-no-such-port' },
    };
    const queries: Record<string, string> = { [`GET ${API_PREFIX}${ROUTES.exportAudit.path}`]: '?format=jsonl' };
    for (const route of sessionRoutes()) {
      const key = `${route.method} ${route.url}`;
      const stream = route.access === 'session-stream';
      const path = concrete(route.url) + (stream ? `?token=${web.token}` : (queries[key] ?? ''));
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : JSON.stringify(bodies[key] ?? {});
      const headers = stream ? {} : body === undefined ? auth : { ...auth, 'content-type': 'application/json' };
      const before = calls.length;
      const a = await send(route.method, path, headers, body);
      // Reached: the station API was called, or (a route without a sample body here) its schema refused `{}`.
      const refusedBySchema = a.status === 400 && JSON.parse(a.body).error.code === 'VALIDATION';
      assert.ok(calls.length > before || refusedBySchema, `${key} → ${a.status} ${a.body}`);
    }
    await send('POST', `${API_PREFIX}${ROUTES.stop.path}`, auth);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

async function runAll(jobs: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
