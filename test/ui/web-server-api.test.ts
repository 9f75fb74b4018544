// The web-mode transport: every route of the station API over HTTP, the session token on each of
// them, the Host check, the static UI, and server-sent events delivering live fixture events.
// (Every spelling of every route: test/security/station-routes.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { API_PREFIX, ROUTES } from '../../src/api/api-routes.ts';
import { HttpStationClient, type StationApiError } from '../../src/api/http-station-client.ts';
import { openFetchEventStream } from '../../src/api/sse-reader.ts';
import type { StationEvent } from '../../src/api/station-api.ts';
import { spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { serviceSkip } from '../helpers/service-skip.ts';
import { startTestStation, type TestStation, withTimeout } from './station-harness.ts';

const socatSkip = serviceSkip('socat is not installed', spawnSync('socat', ['-V']).status === 0);

describe('web mode API', () => {
  let st: TestStation;
  let client: HttpStationClient;

  before(async () => {
    st = await startTestStation({ simulate: { fixtures: 2, seed: 7 } });
    client = new HttpStationClient({
      baseUrl: st.web.url,
      token: st.web.token,
      openEvents: (u, f) => openFetchEventStream(u, f),
    });
  });
  after(async () => {
    await st?.close();
  });

  test('every route answers 401 without the session token, or with a wrong one', async () => {
    for (const [name, r] of Object.entries(ROUTES)) {
      const path = r.path.replace(':id', 'x');
      for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
        const res = await fetch(`${st.web.url}${API_PREFIX}${path}`, { method: r.method, headers });
        assert.equal(res.status, 401, `${name} ${r.method} ${path} without a valid token`);
        const body = (await res.json()) as { error: { code: string } };
        assert.equal(body.error.code, 'UNAUTHORIZED');
      }
    }
    const wrongQuery = await fetch(`${st.web.url}${API_PREFIX}/events?token=nope`);
    assert.equal(wrongQuery.status, 401);
  });

  test('the server listens on 127.0.0.1 only and refuses a foreign Host header', async () => {
    assert.match(st.web.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    // fetch cannot set Host: a raw request can, as a rebinding attacker's page effectively does.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        `${st.web.url}${API_PREFIX}/status`,
        { headers: { authorization: `Bearer ${st.web.token}`, host: 'evil.example' } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 421);
  });

  test('the printed URL carries the token in the fragment, and the UI page itself needs none', async () => {
    assert.equal(st.web.openUrl, `${st.web.url}/#token=${st.web.token}`);
    const page = await fetch(`${st.web.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /<div id="root">/);
  });

  test('the UI files are served as they are; any other path is a bare 404 that echoes nothing', async () => {
    const page = await (await fetch(`${st.web.url}/`)).text();
    const script = /src="\.?\/?(assets\/[^"]+\.js)"/.exec(page)?.[1];
    assert.ok(script, 'the page names its script');
    const js = await fetch(`${st.web.url}/${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    for (const path of ['/qa', '/assets/nope.js', '/index.html/', '/API/status', '/api/nope', '/%2e%2e/package.json']) {
      const res = await fetch(`${st.web.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.deepEqual(await res.json(), { error: { code: 'NOT_FOUND', message: 'Not found' } });
    }
  });

  test('status, sign-in, batches, scans, audit, settings and ports work through the client', async () => {
    const status = await client.getStatus();
    assert.equal(status.simulated, true);
    assert.equal(status.running, false);
    assert.equal(status.pairing.mode, 'embedded');

    const session = await client.signIn({ badge: 'OP:Api Tester' });
    assert.deepEqual([session.name, session.role], ['Api Tester', 'operator']);
    const batch = await client.openBatch('WO-API-1');
    assert.equal(batch.workOrder, 'WO-API-1');
    assert.equal(
      (await client.listBatches()).some((b) => b.id === batch.id),
      true,
    );
    // A second batch while one is open is a conflict with the station's state, not a bad request.
    await assert.rejects(client.openBatch('WO-API-2'), (e: StationApiError) => {
      assert.equal(e.status, 409);
      assert.equal(e.code, 'AUDIT_BATCH_ALREADY_OPEN');
      assert.ok(e.hint, 'the refusal says what to do');
      return true;
    });

    await assert.rejects(client.updateSettings({ realm: 'other' }, 'wrong-pin'), (e: StationApiError) => {
      assert.equal(e.status, 403);
      assert.equal(e.code, 'ADMIN_PIN_INVALID');
      return true;
    });
    await assert.rejects(client.openBatch(''), (e: StationApiError) => e.status === 400);

    const settings = await client.getSettings();
    assert.equal(typeof settings.realm, 'string');
    const updated = await client.updateSettings({ pairing: { mode: 'embedded' } }, st.adminPin);
    assert.equal(updated.pairing.mode, 'embedded');

    const ports = await client.listPorts();
    assert.ok(Array.isArray(ports));
    const tested = await client.testPort('/dev/imprint-no-such-port');
    assert.equal(tested.ok, false);
    assert.ok(tested.detail.length > 0);

    const events = await client.queryAudit({ batchId: batch.id });
    assert.ok(events.some((e) => e.step === 'batch-open'));
    const settingsEvents = await client.queryAudit({ step: 'settings-change' });
    assert.ok(settingsEvents.length >= 1);
    const chain = await client.verifyAudit();
    assert.equal(chain.ok, true);
    const csv = await client.exportAudit({ format: 'csv', batchId: batch.id });
    assert.match(csv.split('\n')[0], /seq/);
    const jsonl = await client.exportAudit({ format: 'jsonl', batchId: batch.id });
    const lines = jsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'header');
    assert.equal(lines.at(-1).type, 'trailer');
    assert.ok(lines.slice(1, -1).every((l) => typeof l.seq === 'number' && typeof l.hash === 'string'));

    const closed = await client.closeBatch();
    assert.equal(closed.id, batch.id);
    assert.ok(closed.closedAt);
    const report = await client.batchReport(batch.id);
    assert.equal(report.batch.id, batch.id);
    await assert.rejects(client.batchReport('no-such-batch'), (e: StationApiError) => e.status === 404);
    await client.signOut();
    assert.equal((await client.getStatus()).operator, undefined);
  });

  test('settings: the agent token is never shown back, and settings the station cannot open are rolled back', async () => {
    await client.signIn({ name: 'Plant IT', pin: st.adminPin });
    await assert.rejects(
      client.updateSettings({ pairing: { mode: 'remote', url: 'http://127.0.0.1:9/' } }, st.adminPin),
      (e: StationApiError) => e.code === 'AGENT_TOKEN_MISSING',
    );
    assert.equal((await client.getSettings()).pairing.mode, 'embedded', 'rolled back');
    assert.equal((await client.getStatus()).pairing.mode, 'embedded', 'the station runs on the old settings');
    const failed = await client.queryAudit({ step: 'settings-change', outcome: 'fail' });
    assert.ok(failed.some((e) => e.errorCode === 'AGENT_TOKEN_MISSING'));

    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJhX3BhIjpbIi4qOjouKiJdfQ.c2lnbmF0dXJlLW5vdC1yZWFsbHktdmFsaWQ';
    const remote = await client.updateSettings(
      { pairing: { mode: 'remote', url: 'http://127.0.0.1:9/', agentToken: token } },
      st.adminPin,
    );
    assert.equal(remote.pairing.mode, 'remote');
    assert.match(remote.pairing.agentToken ?? '', /\(set\)$/);
    const raw = await fetch(`${st.web.url}${API_PREFIX}/settings`, { headers: { authorization: `Bearer ${st.web.token}` } });
    assert.ok(!(await raw.text()).includes(token.slice(10, 40)), 'the token is not in the settings answer');
    const changes = await client.exportAudit({ format: 'jsonl' });
    assert.ok(!changes.includes(token.slice(10, 40)), 'the token is not in the audit trail');
    const back = await client.updateSettings({ pairing: { mode: 'embedded', agentToken: '' } }, st.adminPin);
    assert.equal(back.pairing.mode, 'embedded');
    assert.equal(back.pairing.agentToken, undefined, 'an empty token clears it');
    await client.signOut();
  });

  test('"test port" finds a device speaking the protocol on a real serial port (a socat PTY)', { skip: socatSkip }, async () => {
    const device = await spawnPtyDevice({ hardwareSerial: 'PORTTEST-0001' });
    try {
      const listed = await client.listPorts();
      assert.ok(Array.isArray(listed));
      const result = await client.testPort(device.path);
      assert.equal(result.ok, true);
      assert.match(result.detail, /A device answered: .*protocol v\d/);
    } finally {
      await device.stop();
    }
  });

  test('server-sent events deliver fixture events while the simulated line runs', async () => {
    await client.signIn({ name: 'Sse Tester' });
    await client.openBatch('WO-SSE');
    const seen: StationEvent[] = [];
    let resolvePass: () => void = () => {};
    const passed = new Promise<void>((r) => {
      resolvePass = r;
    });
    const unsubscribe = client.subscribe((e) => {
      seen.push(e);
      if (e.type === 'fixture' && e.fixture.outcome === 'pass') resolvePass();
    });
    try {
      await client.start();
      await withTimeout(passed, 60_000, 'no PASS fixture event within 60 s');
    } finally {
      unsubscribe();
      await client.stop();
      await client.closeBatch();
    }
    assert.equal(seen[0]?.type, 'status', 'a fresh status comes first on connect');
    const running = await client.getStatus();
    assert.equal(running.fixtures.length, 2, 'two simulated fixtures');
    const pass = seen.find((e) => e.type === 'fixture' && e.fixture.outcome === 'pass');
    assert.ok(pass && pass.type === 'fixture' && pass.fixture.deviceId && pass.fixture.hardwareSerial);
    assert.ok(seen.some((e) => e.type === 'counters'));
  });
});
