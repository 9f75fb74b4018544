// Deny by default on the pairing server: every route the router registered (taken from the server itself,
// so a new route is covered the day it is added) answers 401, 403 or 404 without credentials, however its
// path is spelled: case, doubled slashes, percent-encoding of any character, encoded slashes, dot segments,
// trailing slash. Only the routes in PUBLIC_ROUTES are reachable without an agent token.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { PUBLIC_ROUTES } from '../../src/pairing/http/route-access.ts';
import { buildPairingServer, registeredRoutes } from '../../src/pairing/http/server.ts';
import { startTestServer, type TestServer } from '../pairing-http/server-fixture.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function rawRequest(base: string, method: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  const body = method === 'POST' ? JSON.stringify({ data: { hw_id: DEVICE, station: 's', events: [], devices: [] } }) : undefined;
  const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
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

const pctEncode = (ch: string, lower: boolean) => {
  const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${lower ? hex : hex.toUpperCase()}`;
};

/** Every spelling of a concrete path that a router or a proxy might treat as the same resource. */
export function spellings(path: string): string[] {
  const out = new Set<string>([path, `${path}/`, `/${path}`, `${path}?x=1`, `${path}#f`]);
  const segs = path.split('/').slice(1);
  const join = (parts: string[]) => `/${parts.join('/')}`;
  for (let i = 0; i < segs.length; i++) {
    const up = [...segs];
    up[i] = up[i].toUpperCase();
    out.add(join(up));
    const doubled = [...segs];
    doubled[i] = `/${doubled[i]}`;
    out.add(join(doubled));
    out.add(join([...segs.slice(0, i), 'x', '..', ...segs.slice(i)]));
    out.add(join([...segs.slice(0, i), '.', ...segs.slice(i)]));
    out.add(join([...segs.slice(0, i), 'x', '%2e%2e', ...segs.slice(i)]));
    if (i > 0) out.add(`${join(segs.slice(0, i))}%2F${segs.slice(i).join('/')}`);
    if (i > 0) out.add(`${join(segs.slice(0, i))}%2f${segs.slice(i).join('/')}`);
    out.add(`${join(segs.slice(0, i + 1))}%00${i + 1 < segs.length ? `/${segs.slice(i + 1).join('/')}` : ''}`);
  }
  // Percent-encoding of each character in turn (upper- and lowercase hex), and of the whole path.
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '/') continue;
    for (const lower of [false, true]) out.add(path.slice(0, i) + pctEncode(path[i], lower) + path.slice(i + 1));
  }
  out.add(
    path
      .split('/')
      .map((seg) => [...seg].map((c) => pctEncode(c, false)).join(''))
      .join('/'),
  );
  return [...out];
}

describe('pairing server: deny by default', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    // A registered device, so that an unauthenticated DELETE that got through would answer 204, not 404.
    await s.t.core.registerDevice(s.realm, DEVICE);
  });
  after(async () => {
    agent.destroy();
    await s.close();
  });

  test('every registered route is public by the allow-list or protected, and the allow-list has no stale entry', () => {
    const routes = registeredRoutes(s.app);
    assert.ok(routes.length >= 20, `only ${routes.length} routes seen`);
    const protectedRoutes = routes.filter((r) => !r.public);
    assert.ok(protectedRoutes.some((r) => r.method === 'POST' && r.url === '/v1/:realm/agent/devices'));
    assert.ok(protectedRoutes.some((r) => r.url.startsWith('/v1/:realm/agent/imports/')));
    for (const key of PUBLIC_ROUTES.keys()) {
      const [method, url] = key.split(' ');
      assert.ok(
        routes.some((r) => r.method === method && r.url === url),
        `PUBLIC_ROUTES lists ${key}, which the server does not have`,
      );
    }
  });

  test('a route that is neither public nor under /v1/:realm/ stops the server from being built', async () => {
    const app = await buildPairingServer({ core: s.t.core });
    try {
      assert.throws(() => app.get('/admin/export', async () => 'secret'), /neither in PUBLIC_ROUTES/);
      // A new realm route not on the list gets the agent check without asking for it.
      app.get('/v1/:realm/agent/new-thing', async () => ({ data: 'reachable' }));
      await app.ready();
      const r = await app.inject({ method: 'GET', url: `/v1/${s.realm}/agent/new-thing` });
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json(), { errors: { detail: 'Missing authorization token' } });
    } finally {
      await app.close();
    }
  });

  test('no spelling of any protected route answers without credentials', async () => {
    const concrete = (url: string) =>
      url
        .replace(':realm', s.realm)
        .replace(':device_id', DEVICE)
        .replace(':station', 'station-1')
        .replace(':hw_id', DEVICE)
        .replace(':protocol', 'astarte_mqtt_v1')
        .replace('*', 'x');
    let tried = 0;
    for (const route of registeredRoutes(s.app).filter((r) => !r.public)) {
      for (const path of spellings(concrete(route.url))) {
        const r = await rawRequest(s.base, route.method, path);
        tried++;
        assert.ok(
          [400, 401, 403, 404].includes(r.status),
          `${route.method} ${path} (route ${route.url}) answered ${r.status} without credentials: ${r.body.slice(0, 200)}`,
        );
        // 400 only for paths the HTTP layer rejects before routing (e.g. a NUL byte), never a route's own answer.
        if (r.status === 400) assert.match(path, /%00|%2e%2e|\.\./i, `${route.method} ${path}: 400`);
      }
    }
    assert.ok(tried > 300, `only ${tried} requests`);
    // And the device is still registered: nothing got through.
    assert.equal((await s.t.core.showDevice(s.realm, DEVICE)).registered, true);
  });
});
