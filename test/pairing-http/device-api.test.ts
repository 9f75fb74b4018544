// Device API and service routes over real HTTP: info, credentials (checked with openssl against
// GET /v1/{realm}/ca), verify (REVOKED after a newer certificate), CRL, version, health, metrics,
// and logs that never carry a secret or a token.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/common/logger.ts';
import { makeDeviceCsr, opensslSubject, opensslVerify, tamperCsrSignature } from '../helpers/pairing-keys.ts';
import { startTestServer, type TestServer } from './server-fixture.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

describe('pairing HTTP device API', () => {
  let s: TestServer;
  let secret: string;
  const logLines: string[] = [];
  const credsPath = (id = DEVICE, protocol = 'astarte_mqtt_v1') =>
    `/v1/${s.realm}/devices/${id}/protocols/${protocol}/credentials`;
  const requestCert = async (csrPem: string, auth = secret, id = DEVICE) =>
    s.request('POST', credsPath(id), { body: { data: { csr: csrPem } }, auth: `Bearer ${auth}` });
  const verify = (crt: string, id = DEVICE, auth = secret) =>
    s.request('POST', `${credsPath(id)}/verify`, { body: { data: { client_crt: crt } }, auth: `Bearer ${auth}` });

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    s = await startTestServer({ logger: createLogger({ level: 'trace', destination: sink }) });
    const r = await s.request('POST', `/v1/${s.realm}/agent/devices`, {
      body: { data: { hw_id: DEVICE } },
      auth: `Bearer ${await s.token()}`,
    });
    secret = r.body.data.credentials_secret;
  });
  after(() => s.close());

  test('info: version, status and broker URL', async () => {
    const r = await s.request('GET', `/v1/${s.realm}/devices/${DEVICE}`, { auth: `Bearer ${secret}` });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      data: {
        version: r.body.data.version,
        status: 'pending',
        protocols: { astarte_mqtt_v1: { broker_url: 'mqtts://broker.test:8883/' } },
      },
    });
    assert.match(r.body.data.version, /^\d+\.\d+\.\d+/);
  });

  test('device auth errors: 401 Unauthorized without Bearer, 403 wrong secret, 404 unknown device, 403 unknown realm', async () => {
    const info = (path: string, auth?: string) => s.request('GET', path, { auth });
    const noBearer = await info(`/v1/${s.realm}/devices/${DEVICE}`);
    assert.equal(noBearer.status, 401);
    assert.deepEqual(noBearer.body, { errors: { detail: 'Unauthorized' } });
    const wrong = await info(`/v1/${s.realm}/devices/${DEVICE}`, `Bearer ${Buffer.alloc(32, 1).toString('base64')}`);
    assert.equal(wrong.status, 403);
    assert.deepEqual(wrong.body, { errors: { detail: 'Forbidden' } });
    const unknown = await info(`/v1/${s.realm}/devices/AAAAAAAAAAAAAAAAAAAAAA`, `Bearer ${secret}`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { errors: { detail: 'Device not found' } });
    const realm = await info(`/v1/nosuchrealm/devices/${DEVICE}`, `Bearer ${secret}`);
    assert.equal(realm.status, 403);
    assert.deepEqual(realm.body, { errors: { detail: 'Forbidden' } });
    const malformed = await info(`/v1/${s.realm}/devices/short`, `Bearer ${secret}`);
    assert.equal(malformed.status, 422);
    assert.deepEqual(malformed.body, { errors: { hw_id: ['is not a valid base64 encoded 128 bits id'] } });
    // Astarte also accepts "bearer:" spelled this way.
    assert.equal((await info(`/v1/${s.realm}/devices/${DEVICE}`, `bearer: ${secret}`)).status, 200);
  });

  test('credentials: body and protocol errors', async () => {
    const post = (path: string, body: unknown) => s.request('POST', path, { body, auth: `Bearer ${secret}` });
    const unknownProtocol = await post(credsPath(DEVICE, 'astarte_mqtt_v2'), { data: { csr: 'x' } });
    assert.equal(unknownProtocol.status, 400);
    assert.deepEqual(unknownProtocol.body, { errors: { detail: 'Bad request' } });
    const noData = await post(credsPath(), { csr: 'x' });
    assert.equal(noData.status, 400);
    assert.deepEqual(noData.body, { errors: { detail: 'Bad request' } });
    assert.deepEqual((await post(credsPath(), { data: {} })).body, { errors: { csr: ["can't be blank"] } });
    const badCsr = await post(credsPath(), { data: { csr: 'not a csr' } });
    assert.equal(badCsr.status, 422);
    assert.equal(badCsr.headers.get('x-imprint-error'), 'INVALID_CSR');
    const tampered = await post(credsPath(), { data: { csr: tamperCsrSignature(makeDeviceCsr().csrPem) } });
    assert.equal(tampered.status, 422, 'proof of possession');
    assert.deepEqual((await post(`${credsPath()}/verify`, { data: {} })).body, { errors: { client_crt: ["can't be blank"] } });
  });

  test('credentials: certificate verified by openssl against GET /v1/{realm}/ca, CN forced to realm/device', async () => {
    const ca = await s.request('GET', `/v1/${s.realm}/ca`);
    assert.equal(ca.status, 200);
    assert.match(ca.headers.get('content-type') ?? '', /pem/);
    assert.match(ca.text, /^-----BEGIN CERTIFICATE-----/);
    for (const type of ['ec', 'rsa'] as const) {
      const r = await requestCert(makeDeviceCsr({ type, commonName: 'whatever-the-device-says' }).csrPem);
      assert.equal(r.status, 201, type);
      const crt = r.body.data.client_crt;
      const checked = opensslVerify(ca.text, crt);
      assert.ok(checked.ok, checked.output);
      assert.equal(opensslSubject(crt), `CN=${s.realm}/${DEVICE}`);
    }
  });

  test('verify: valid with until; REVOKED after a newer certificate; CRL lists it; garbage INVALID', async () => {
    const first = (await requestCert(makeDeviceCsr().csrPem)).body.data.client_crt;
    const ok = await verify(first);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data.valid, true);
    assert.match(ok.body.data.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(ok.body.data.until, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);

    const second = (await requestCert(makeDeviceCsr().csrPem)).body.data.client_crt;
    const revoked = await verify(first);
    assert.deepEqual(revoked.body, {
      data: { valid: false, timestamp: revoked.body.data.timestamp, cause: 'REVOKED', details: null },
    });
    assert.equal((await verify(second)).body.data.valid, true);

    const ca = (await s.request('GET', `/v1/${s.realm}/ca`)).text;
    const crl = await s.request('GET', `/v1/${s.realm}/ca/crl`);
    assert.equal(crl.status, 200);
    assert.match(crl.text, /^-----BEGIN X509 CRL-----/);
    assert.equal(opensslVerify(ca, first, { crlPem: crl.text }).ok, false, 'openssl sees the first certificate revoked');
    assert.ok(opensslVerify(ca, second, { crlPem: crl.text }).ok);

    const garbage = await verify('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    assert.equal(garbage.status, 200);
    assert.equal(garbage.body.data.valid, false);
    assert.equal(garbage.body.data.cause, 'INVALID');
  });

  test('longer hw_id is accepted on credentials and the certificate uses the canonical 22 characters', async () => {
    const r = await requestCert(makeDeviceCsr().csrPem, secret, `${DEVICE}extra123`);
    assert.equal(r.status, 201);
    assert.equal(opensslSubject(r.body.data.client_crt), `CN=${s.realm}/${DEVICE}`);
  });

  test('inhibited device: status inhibited and a clear 403 on credentials (Astarte: 500)', async () => {
    await s.t.core.setInhibited(s.realm, DEVICE, true);
    try {
      const info = await s.request('GET', `/v1/${s.realm}/devices/${DEVICE}`, { auth: `Bearer ${secret}` });
      assert.equal(info.body.data.status, 'inhibited');
      const r = await requestCert(makeDeviceCsr().csrPem);
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('x-imprint-error'), 'DEVICE_INHIBITED');
      assert.match(r.body.errors.detail, /inhibited/);
    } finally {
      await s.t.core.setInhibited(s.realm, DEVICE, false);
    }
  });

  test('service routes: version, health, unknown route, metrics', async () => {
    const v = await s.request('GET', '/version');
    assert.equal(v.status, 200);
    assert.equal(typeof v.body.data, 'string');
    assert.deepEqual((await s.request('GET', `/v1/${s.realm}/version`)).body, v.body);
    assert.equal((await s.request('GET', '/v1/nosuchrealm/version')).status, 403);
    for (const path of ['/health', `/v1/${s.realm}/health`]) {
      const h = await s.request('GET', path);
      assert.equal(h.status, 200, path);
      assert.equal(h.text, '', path); // as Astarte: an empty body
    }
    assert.equal((await s.request('GET', '/v1/nosuchrealm/health')).status, 403);
    const nf = await s.request('GET', '/v2/nothing');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.body, { errors: { detail: 'Page not found' } });
    const m = await s.request('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(
      m.text,
      /imprint_pairing_http_requests_total\{method="POST",route="\/v1\/:realm\/agent\/devices",status="201"\} 1\n/,
    );
    assert.match(
      m.text,
      /imprint_pairing_http_requests_total\{method="GET",route="\/v1\/:realm\/devices\/:hw_id",status="403"\} \d+/,
    );
    assert.match(
      m.text,
      /imprint_pairing_http_request_duration_seconds_count\{method="GET",route="\/v1\/:realm\/devices\/:hw_id"\} \d+/,
    );
    assert.match(m.text, /imprint_pairing_registrations_total 1\n/);
    assert.match(m.text, /imprint_pairing_credentials_issued_total [1-9]\d*\n/);
    assert.match(m.text, /imprint_pairing_store_writes_total [1-9]\d*\n/);
  });

  test('logs have one line per request and never a secret, a token, a CSR or a certificate', async () => {
    const token = await s.token();
    await s.request('GET', `/v1/${s.realm}/devices/${DEVICE}`, { auth: `Bearer ${secret}` });
    await s.request('POST', `/v1/${s.realm}/agent/devices`, { body: { data: { hw_id: 'not valid' } }, auth: `Bearer ${token}` });
    const all = logLines.join('');
    assert.match(all, /"msg":"request"/);
    assert.match(all, /"status":403/);
    for (const needle of [secret, token, token.split('.')[2], 'BEGIN CERTIFICATE', 'credentials_secret', 'authorization']) {
      assert.ok(!all.toLowerCase().includes(needle.toLowerCase()), `log contains ${needle.slice(0, 12)}…`);
    }
  });
});

describe('pairing HTTP server --broker-url', () => {
  test('devices of realms created without a broker URL get the server default; explicit ones keep theirs', async () => {
    const s = await startTestServer({ defaultBrokerUrl: 'mqtts://broker.plant.example:8883/' });
    try {
      await s.t.core.createRealm({ name: 'nobroker', publicKeyPem: s.t.agentKeys.publicKeyPem });
      const info = async (realm: string) => {
        const { credentialsSecret } = await s.t.core.registerDevice(realm, DEVICE);
        return (await s.request('GET', `/v1/${realm}/devices/${DEVICE}/`, { auth: `Bearer ${credentialsSecret}` })).body;
      };
      assert.equal((await info('nobroker')).data.protocols.astarte_mqtt_v1.broker_url, 'mqtts://broker.plant.example:8883/');
      assert.equal((await info(s.realm)).data.protocols.astarte_mqtt_v1.broker_url, 'mqtts://broker.test:8883/');
    } finally {
      await s.close();
    }
  });
});
