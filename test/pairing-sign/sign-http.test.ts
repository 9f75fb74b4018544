// Foundries-compatible POST /sign over HTTP on 127.0.0.1, driven exactly as lmp-device-register
// drives it; the certificate is checked with `openssl verify` against the CA it was given.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { breakCsrSignature, makeCsr, openssl } from '../helpers/ca-csr.ts';
import { type ClaimsServer, FACTORY, startClaimsServer } from '../pairing-claims/claims-fixture.ts';
import { assertSignedFiles, craftedCsr, lmpCsr, lmpRequest, ptreeJson, readText } from './lmp-request.ts';

let s: ClaimsServer;
const sign = (json: string, contentType?: string) => s.post('/sign', undefined, { raw: json, contentType });

before(async () => {
  s = await startClaimsServer({ sign: true });
});
after(async () => {
  await s.close();
});

describe('lmp-device-register against /sign', () => {
  test('HEAD /sign (the client’s reachability check) is below 500', async () => {
    const r = await fetch(`${s.base}/sign`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    assert.ok(r.status < 500);
  });

  test('201 with root.crt, sota.toml, client.pem, client.chained; openssl verifies the certificate; subject kept', async () => {
    const req = lmpRequest({ factory: FACTORY, sotaDir: '/var/sota', tag: 'main' });
    const r = await sign(req.json);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assertSignedFiles(req, r.body, FACTORY, (dir) => {
      const toml = readText(dir, 'sota.toml');
      assert.match(toml, /\[tls\]\nserver = "https:\/\/gw\.plant\.test:8443"/);
      assert.match(toml, /primary_ecu_hardware_id = "intel-corei7-64"/);
      assert.match(toml, /\[pacman\][^[]*tags = "main"/);
      assert.match(toml, /tls_clientcert_path = "\/var\/sota\/client\.pem"/);
    });
    const [ev] = s.trail.query({ step: 'sign' });
    assert.equal(ev.outcome, 'ok');
    assert.equal(ev.hardwareSerial, req.uuid);
    assert.equal(ev.data?.production, true);
    assert.equal(ev.data?.factory, FACTORY);
  });

  test('a UUID registers once: 409 until an operator re-opens it (audited); the old certificate is revoked', async () => {
    const uuid = randomUUID();
    const first = await sign(lmpRequest({ factory: FACTORY, uuid }).json);
    assert.equal(first.status, 201);
    const again = await sign(lmpRequest({ factory: FACTORY, uuid }).json);
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('x-imprint-error'), 'ALREADY_SIGNED');
    assert.match(again.body.errors.detail, /imprint pairing sign reopen fio/);
    await s.sign?.reopen(uuid, 'qa-lead');
    const third = await sign(lmpRequest({ factory: FACTORY, uuid }).json);
    assert.equal(third.status, 201);
    const oldSerial = openssl(['x509', '-noout', '-serial'], { input: first.body['client.pem'] }).stdout.split('=')[1].trim();
    const crl = openssl(['crl', '-noout', '-text'], { input: await s.t.core.crlPem() }).stdout;
    assert.match(crl.toUpperCase(), new RegExp(oldSerial.replace(/^0+/, '')));
    const [reopen] = s.trail.query({ step: 'sign-reopen' });
    assert.equal(reopen.operator, 'qa-lead');
    assert.equal(reopen.hardwareSerial, uuid);
    assert.equal(s.trail.query({ step: 'sign', hardwareSerial: uuid }).length, 2);
  });

  test('two devices racing with one UUID: exactly one is registered', async () => {
    const uuid = randomUUID();
    const results = await Promise.all([1, 2, 3, 4].map(() => sign(lmpRequest({ factory: FACTORY, uuid }).json)));
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    assert.equal(results.filter((r) => r.status === 409).length, 3);
  });

  test('a UUID whose device id a station already registered is refused (no takeover)', async () => {
    const uuid = randomUUID();
    const deviceId = Buffer.from(uuid.replaceAll('-', ''), 'hex').toString('base64url');
    await s.t.core.registerDevice('fio', deviceId);
    const r = await sign(lmpRequest({ factory: FACTORY, uuid }).json);
    assert.equal(r.status, 409);
    assert.equal(r.headers.get('x-imprint-error'), 'DEVICE_EXISTS');
  });
});

describe('bad input: a clear 4xx each, audited', () => {
  const body = (over: Record<string, unknown>) => {
    const uuid = randomUUID();
    return ptreeJson({ uuid, csr: lmpCsr({ uuid, factory: FACTORY }).csrPem, 'hardware-id': 'hw', ...over });
  };
  const cases: Array<[string, () => string, number, RegExp, string?]> = [
    ['bad JSON', () => '{"csr": ', 400, /not valid JSON/],
    ['empty body', () => '', 400, /Missing request body/],
    ['group field', () => body({ group: 'prod-fleet' }), 400, /'group' is not supported/],
    ['no csr', () => body({ csr: undefined }), 400, /Missing required field 'csr'/],
    ['no hardware-id', () => body({ 'hardware-id': undefined }), 400, /Missing required field 'hardware-id'/],
    ['not a CSR', () => body({ csr: 'not a valid csr' }), 422, /Invalid CSR/],
    [
      'no OU',
      () => {
        const uuid = randomUUID();
        return ptreeJson({ uuid, csr: lmpCsr({ uuid, dn: `CN=${uuid}\n` }).csrPem, 'hardware-id': 'hw' });
      },
      422,
      /no OU/,
    ],
    [
      'wrong factory',
      () => {
        const uuid = randomUUID();
        return ptreeJson({ uuid, csr: lmpCsr({ uuid, factory: 'other-factory' }).csrPem, 'hardware-id': 'hw' });
      },
      403,
      /Invalid factory \(other-factory\)/,
      'WRONG_FACTORY',
    ],
    [
      'broken CSR signature (no proof of possession)',
      () => {
        const uuid = randomUUID();
        return ptreeJson({ uuid, csr: breakCsrSignature(lmpCsr({ uuid, factory: FACTORY }).csrPem), 'hardware-id': 'hw' });
      },
      422,
      /proof of possession/,
    ],
    ['uuid not the CN', () => body({ uuid: randomUUID() }), 400, /does not match the CSR's CN/],
    // A subject the CA cannot certify is the device's fault: 422, never a 500.
    [
      "a CN longer than the CA's 256 characters",
      () => {
        const csr = craftedCsr([
          ['2.5.4.3', 'u'.repeat(300)],
          ['2.5.4.11', FACTORY],
        ]);
        return ptreeJson({ csr, 'hardware-id': 'hw' });
      },
      422,
      /common name must be 1 to 256 printable characters/,
      'INVALID_CSR',
    ],
    [
      'a CN with a control character',
      () =>
        ptreeJson({
          csr: craftedCsr([
            ['2.5.4.3', 'ab\u0001cd'],
            ['2.5.4.11', FACTORY],
          ]),
          'hardware-id': 'hw',
        }),
      422,
      /printable characters/,
      'INVALID_CSR',
    ],
    [
      "the CA's own CN",
      () => ptreeJson({ csr: lmpCsr({ uuid: 'Imprint Pairing CA', factory: FACTORY }).csrPem, 'hardware-id': 'hw' }),
      422,
      /differ from the CA's/,
      'INVALID_CSR',
    ],
    ['sota-config-dir with a quote', () => body({ 'sota-config-dir': '/var/sota"\n[x]' }), 400, /sota-config-dir/],
    ['override with a newline', () => body({ overrides: { pacman: { tags: '"a"\n[tls]' } } }), 400, /one line/],
    ['a JSON array', () => '[]', 400, /JSON object/],
  ];
  for (const [name, make, status, message, code] of cases) {
    test(name, async () => {
      const r = await sign(make());
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.errors.detail, message);
      if (code) assert.equal(r.headers.get('x-imprint-error'), code);
    });
  }

  test('not application/json is 415', async () => {
    const r = await sign('csr=x', 'application/x-www-form-urlencoded');
    assert.equal(r.status, 415);
  });

  test('an RSA device key is fine too (the CA checks any accepted key)', async () => {
    const uuid = randomUUID();
    const { csrPem } = makeCsr('rsa-2048', `/CN=${uuid}/OU=${FACTORY}`);
    const r = await sign(ptreeJson({ uuid, csr: csrPem, 'hardware-id': 'hw' }));
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  test('every refusal was audited as sign-refused', () => {
    const refused = s.trail.query({ step: 'sign-refused' });
    assert.ok(refused.length >= cases.length, `${refused.length} refusals audited`);
    const codes = new Set(refused.map((e) => e.errorCode));
    for (const c of ['INVALID_REQUEST', 'INVALID_CSR', 'WRONG_FACTORY', 'ALREADY_SIGNED', 'DEVICE_EXISTS'])
      assert.ok(codes.has(c), c);
  });
});

test('/sign is 404 on a server started without --sign-realm', async () => {
  const plain = await startClaimsServer();
  try {
    const r = await plain.post('/sign', undefined, { raw: lmpRequest({ factory: FACTORY }).json });
    assert.equal(r.status, 404);
  } finally {
    await plain.close();
  }
});
