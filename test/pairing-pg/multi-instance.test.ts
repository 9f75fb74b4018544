// Two `imprint pairing serve` instances on one PostgreSQL database, as behind a load balancer:
// whatever instance a request reaches, Astarte's rules hold, the CA is the same, and killing an
// instance loses no acknowledged registration. Fails, never skips, without a reachable PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { makeDeviceCsr, opensslVerify } from '../helpers/pairing-keys.ts';
import { lmpRequest } from '../pairing-sign/lmp-request.ts';
import { call, FACTORY, type Fleet, type Instance, imprint, makeFleet } from './fleet-harness.ts';

const LIMIT = 5;
const newId = () => randomBytes(16).toString('base64url');

describe('two pairing serve instances on one PostgreSQL store', () => {
  let fleet: Fleet;
  let a: Instance;
  let b: Instance;
  const register = (at: Instance, hwId: string, realm = 'test') =>
    call(at.url, 'POST', `/v1/${realm}/agent/devices`, { auth: fleet.agentToken, body: { data: { hw_id: hwId } } });
  const credentials = (at: Instance, hwId: string, secret: string, csrPem = makeDeviceCsr().csrPem) =>
    call(at.url, 'POST', `/v1/test/devices/${hwId}/protocols/astarte_mqtt_v1/credentials`, {
      auth: secret,
      body: { data: { csr: csrPem } },
    });
  const info = (at: Instance, hwId: string, secret: string) => call(at.url, 'GET', `/v1/test/devices/${hwId}`, { auth: secret });

  before(async () => {
    fleet = await makeFleet({ limit: LIMIT, instances: 3 });
    [a, b] = await Promise.all([fleet.start(0), fleet.start(1)]);
  });

  after(async () => {
    await fleet?.close();
  });

  test('a device registered through one instance gets its certificate through the other, under the one shared CA', async () => {
    const id = newId();
    const r = await register(a, id);
    assert.equal(r.status, 201);
    const secret = r.body.data.credentials_secret;
    assert.equal((await info(b, id, secret)).body.data.status, 'pending');
    const c = await credentials(b, id, secret);
    assert.equal(c.status, 201, c.text);
    const [caA, caB] = await Promise.all([call(a.url, 'GET', '/v1/test/ca'), call(b.url, 'GET', '/v1/test/ca')]);
    assert.equal(caA.text, caB.text, 'both instances publish the same CA');
    const v = opensslVerify(caA.text, c.body.data.client_crt);
    assert.ok(v.ok, v.output);
    const verified = await call(a.url, 'POST', `/v1/test/devices/${id}/protocols/astarte_mqtt_v1/credentials/verify`, {
      auth: secret,
      body: { data: { client_crt: c.body.data.client_crt } },
    });
    assert.equal(verified.body.data.valid, true);
    assert.equal((await info(a, id, secret)).body.data.status, 'confirmed');
  });

  test('racing registrations of one device on both instances leave exactly one working secret', async () => {
    for (let round = 0; round < 3; round++) {
      const id = newId();
      const out = await Promise.all(Array.from({ length: 10 }, (_, i) => register(i % 2 ? b : a, id)));
      assert.deepEqual(
        out.map((r) => r.status),
        Array(10).fill(201),
      );
      const works = await Promise.all(out.map((r, i) => info(i % 2 ? a : b, id, r.body.data.credentials_secret)));
      assert.equal(works.filter((w) => w.status === 200).length, 1, `round ${round}: one secret works`);
      assert.equal(works.filter((w) => w.status === 403).length, 9);
    }
  });

  test('after the first credentials request on one instance, registering again on the other is refused', async () => {
    const id = newId();
    const { body } = await register(a, id);
    assert.equal((await credentials(b, id, body.data.credentials_secret)).status, 201);
    const again = await register(a, id);
    assert.equal(again.status, 422);
    assert.deepEqual(again.body, { errors: { detail: 'Device already registered' } });
    assert.equal((await info(a, id, body.data.credentials_secret)).status, 200, 'the confirmed secret still works');
  });

  test('registrations racing a credentials request: the device ends with one consistent secret', async () => {
    for (let round = 0; round < 5; round++) {
      const id = newId();
      const first = (await register(a, id)).body.data.credentials_secret;
      const [c, r] = await Promise.all([credentials(a, id, first), register(b, id)]);
      if (c.status === 201) {
        assert.equal(r.status, 422, `round ${round}: registered after credentials`);
        assert.equal((await info(b, id, first)).body.data.status, 'confirmed');
      } else {
        assert.deepEqual([c.status, r.status], [403, 201], `round ${round}`);
        assert.equal((await info(a, id, r.body.data.credentials_secret)).body.data.status, 'pending');
      }
    }
  });

  test('the realm limit holds with new devices racing on both instances', async () => {
    const out = await Promise.all(Array.from({ length: 20 }, (_, i) => register(i % 2 ? b : a, newId(), 'lim')));
    assert.equal(out.filter((r) => r.status === 201).length, LIMIT);
    const refused = out.filter((r) => r.status === 422);
    assert.equal(refused.length, 20 - LIMIT);
    for (const r of refused) assert.equal(r.error, 'REGISTRATION_LIMIT');
  });

  test('a claim token is used no more than its limit, with claims racing on both instances', async () => {
    const made = imprint([
      'pairing',
      'claim-token',
      'create',
      'test',
      '--max-uses',
      '4',
      '--url',
      a.url,
      '--store',
      fleet.schema.url,
      '--data',
      fleet.dataDir(1),
    ]);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    const out = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(i % 2 ? b.url : a.url, 'POST', '/v1/test/claims', {
          body: { data: { token, manufacturer_id: `SN-${randomUUID()}` } },
        }),
      ),
    );
    assert.equal(out.filter((r) => r.status === 201).length, 4);
    for (const r of out.filter((x) => x.status !== 201)) assert.equal(r.error, 'CLAIM_TOKEN_USED_UP');
    const same = await Promise.all(
      [a, b].map((at) => call(at.url, 'POST', '/v1/test/claims', { body: { data: { token, manufacturer_id: 'SN-x' } } })),
    );
    assert.ok(
      same.every((r) => r.status === 403),
      'used up on both',
    );
  });

  test('a /sign UUID registers once, whichever instances it reaches', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const out = await Promise.all([a, b, a, b].map((at) => call(at.url, 'POST', '/sign', { raw: req.json })));
    assert.equal(out.filter((r) => r.status === 201).length, 1, out.map((r) => r.text).join('\n'));
    for (const r of out.filter((x) => x.status !== 201)) assert.equal(r.error, 'ALREADY_SIGNED');
  });

  test('a revocation made on one instance is REVOKED on the other at once', async () => {
    const id = newId();
    const secret = (await register(a, id)).body.data.credentials_secret;
    const first = await credentials(a, id, secret);
    await credentials(a, id, secret);
    const v = await call(b.url, 'POST', `/v1/test/devices/${id}/protocols/astarte_mqtt_v1/credentials/verify`, {
      auth: secret,
      body: { data: { client_crt: first.body.data.client_crt } },
    });
    assert.equal(v.body.data.cause, 'REVOKED');
  });

  test('store status describes the shared store named by IMPRINT_PAIRING_STORE, without its password', () => {
    const r = imprint(['pairing', 'store', 'status', '--data', fleet.dataDir(0), '--json'], {
      IMPRINT_PAIRING_STORE: fleet.schema.url,
    });
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout);
    assert.equal(status.engine, 'postgres');
    assert.equal(status.reachable, true);
    assert.equal(status.durability, 'synchronous_commit=on');
    assert.equal(status.realms, 3);
    assert.ok(status.schemaVersion >= 1);
    assert.ok(!r.stdout.includes(':imprint@'), 'the password is not printed');
  });

  test('an instance started with another CA, or none, refuses to serve', () => {
    const none = imprint(['pairing', 'serve', '--store', fleet.schema.url, '--data', `${fleet.root}/empty`, '--port', '0']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /FLEET_CA_MISSING/);
    // A data directory with a CA of its own (made by an embedded core).
    assert.equal(imprint(['pairing', 'realm', 'list', '--data', `${fleet.root}/other`]).code, 0);
    const other = imprint(['pairing', 'serve', '--store', fleet.schema.url, '--data', `${fleet.root}/other`, '--port', '0']);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /FLEET_KEY_MISMATCH: .*ca-certificate/);
  });

  test('SIGKILL of an instance under load loses no acknowledged registration', async () => {
    const c = await fleet.start(2);
    const acked: { id: string; secret: string }[] = [];
    let stop = false;
    let failures = 0;
    const worker = async () => {
      while (!stop) {
        const id = newId();
        try {
          const r = await register(c, id);
          if (r.status === 201) acked.push({ id, secret: r.body.data.credentials_secret });
        } catch {
          failures++; // cut by the kill: never acknowledged, so free to be lost
          return;
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 20));
    c.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    const checks = await Promise.all(acked.map((d, i) => info(i % 2 ? a : b, d.id, d.secret)));
    assert.deepEqual(
      checks.map((r) => r.status).filter((s) => s !== 200),
      [],
      `every one of ${acked.length} acknowledged registrations works on the surviving instances (${failures} cut requests)`,
    );
  });
});
