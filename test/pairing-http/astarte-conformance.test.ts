// Astarte's Pairing API behaviour, case by case, over real HTTP. Every row comes from Astarte's own source or
// tests (astarte-platform/astarte, apps/astarte_pairing: controllers, FallbackController, ErrorView, the
// changesets, CertVerifier, Guardian's token verification); `ours` is set only where we depart on purpose
// (documented in docs/pairing-api.md, "Conformance", under the same id).
import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import { makeTempDir, openTestCore, type TestCore } from '../helpers/pairing-core.ts';
import { makeDeviceCsr } from '../helpers/pairing-keys.ts';
import { startTestServer, type TestResponse, type TestServer } from './server-fixture.ts';

const PENDING = 'PDL3KNj7RVifHZD-1w_6wA';
const CONFIRMED = '2imLILqtRP2vq0ZVy-TGRQ';
const INHIBITED = 'Lwf5dutoSuqS0kbG44-BOw';
const NEVER = 'G5rDPSk1SOKuErbBnk2rhw';
/** A device the agent rows may register again and again without touching the others' secrets. */
const SPARE = 'AJInS0w3VpWpuOqkXhgZdA';
const LIMIT_REALM = 'limited';

type Body = Record<string, unknown> | 'empty' | ((r: TestResponse) => void);
interface Expect {
  status: number;
  body?: Body;
}
interface Row {
  id: string;
  title: string;
  source: string;
  astarte: Expect;
  /** Only where we depart from Astarte (its answer is then a 500 or a weaker check). */
  ours?: Expect;
  run: () => Promise<TestResponse>;
}

const secretLike = (r: TestResponse) => assert.match(r.body.data.credentials_secret, /^[A-Za-z0-9+/]{43}=$/);
const pemCert = (r: TestResponse) => assert.match(r.body.data.client_crt, /^-----BEGIN CERTIFICATE-----/);
const verifyFalse = (cause: string) => (r: TestResponse) => {
  assert.deepEqual(Object.keys(r.body.data).sort(), ['cause', 'details', 'timestamp', 'valid']);
  assert.equal(r.body.data.valid, false);
  assert.equal(r.body.data.cause, cause);
  assert.equal(r.body.data.details, null);
};
const unauthorizedPath = (method: string, path: string) => ({
  errors: { detail: `Unauthorized access to ${method} ${path}. Please verify your permissions` },
});
const detail = (d: string) => ({ errors: { detail: d } });

describe('Astarte conformance of the pairing HTTP API', () => {
  let s: TestServer;
  let foreign: TestCore;
  let all: string;
  const secrets: Record<string, string> = {};
  const certs: Record<string, string> = {};
  const tmp = makeTempDir('imprint-conformance-');

  const agent = (method: string, path: string, o: { body?: unknown; auth?: string; token?: string } = {}) =>
    s.request(method, `/v1/${s.realm}/${path}`, { body: o.body, auth: o.auth ?? `Bearer ${o.token ?? all}` });
  const register = (data: unknown, o: { token?: string; auth?: string } = {}) =>
    agent('POST', 'agent/devices', { body: { data }, ...o });
  const device = (method: string, id: string, path: string, body?: unknown, auth?: string) =>
    s.request(method, `/v1/${s.realm}/devices/${id}${path}`, { body, auth: auth ?? `Bearer ${secrets[id]}` });
  const creds = '/protocols/astarte_mqtt_v1/credentials';
  const verify = (pem: string) => device('POST', CONFIRMED, `${creds}/verify`, { data: { client_crt: pem } });
  let agentKey: KeyObject;
  const jwt = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(agentKey);

  before(async () => {
    s = await startTestServer();
    agentKey = createPrivateKey(s.t.agentKeys.privateKeyPem);
    all = await s.token();
    await s.t.core.createRealm({ name: LIMIT_REALM, publicKeyPem: s.t.realm.publicKeyPem, deviceRegistrationLimit: 0 });
    for (const id of [PENDING, CONFIRMED, INHIBITED])
      secrets[id] = (await s.t.core.registerDevice(s.realm, id)).credentialsSecret;
    const first = await s.t.core.requestCredentials(s.realm, CONFIRMED, secrets[CONFIRMED], makeDeviceCsr().csrPem);
    certs.superseded = first.clientCrt;
    certs.live = (await s.t.core.requestCredentials(s.realm, CONFIRMED, secrets[CONFIRMED], makeDeviceCsr().csrPem)).clientCrt;
    await s.t.core.setInhibited(s.realm, INHIBITED, true);
    const ca = s.t.core.extension().ca;
    const csrPem = makeDeviceCsr().csrPem;
    const cn = `${s.realm}/${CONFIRMED}`;
    const dayMs = 86_400_000;
    certs.expired = ca.issue({
      csrPem,
      commonName: cn,
      serialHex: '0e01',
      validityDays: 1,
      now: new Date(Date.now() - 3 * dayMs),
    }).pem;
    certs.notYetValid = ca.issue({ csrPem, commonName: cn, serialHex: '0e02', now: new Date(Date.now() + 3 * dayMs) }).pem;
    foreign = await openTestCore({ realm: s.realm });
    const f = (await foreign.core.registerDevice(s.realm, CONFIRMED)).credentialsSecret;
    certs.foreignSameName = (await foreign.core.requestCredentials(s.realm, CONFIRMED, f, csrPem)).clientCrt;
    const renamed = CertificateAuthority.loadOrCreate(`${tmp}/renamed`, { commonName: 'Another CA' });
    certs.foreignName = renamed.issue({ csrPem, commonName: cn, serialHex: '0f01' }).pem;
    const other = await s.t.core.registerDevice(s.realm, NEVER);
    certs.otherDevice = (await s.t.core.requestCredentials(s.realm, NEVER, other.credentialsSecret, csrPem)).clientCrt;
    await s.t.core.unregisterDevice(s.realm, NEVER);
  });
  after(async () => {
    await s.close();
    await foreign.cleanup();
  });

  const rows: Row[] = [
    // ---- agent: register ----------------------------------------------------------------------------
    {
      id: 'A1',
      title: 'register a valid hw_id',
      source: 'agent_controller_test.exs',
      astarte: { status: 201, body: secretLike },
      run: () => register({ hw_id: 'AJInS0w3VpWpuOqkXhgZdA' }),
    },
    {
      id: 'A2',
      title: 'register with a valid initial_introspection',
      source: 'agent_controller_test.exs',
      astarte: { status: 201, body: secretLike },
      run: () =>
        register({
          hw_id: 'AJInS0w3VpWpuOqkXhgZdA',
          initial_introspection: {
            'org.astarteplatform.Values': { major: 0, minor: 4 },
            'org.astarteplatform.OtherValues': { major: 1, minor: 0 },
          },
        }),
    },
    {
      id: 'A3',
      title: 'register a 256-bit hw_id (truncated to 128 bits)',
      source: 'agent_controller_test.exs',
      astarte: { status: 201, body: secretLike },
      run: () => register({ hw_id: 'ova1YgZZZo3p_2m8UjJ_c3sOOmpLh3GOc0CARFwE-V4' }),
    },
    {
      id: 'A4',
      title: 'register an empty hw_id',
      source: 'agent_controller_test.exs',
      astarte: { status: 422, body: { errors: { hw_id: ["can't be blank"] } } },
      run: () => register({ hw_id: '' }),
    },
    {
      id: 'A5',
      title: 'register without hw_id',
      source: 'agent/agent_test.exs, device_registration_request.ex',
      astarte: { status: 422, body: { errors: { hw_id: ["can't be blank"] } } },
      run: () => register({}),
    },
    {
      id: 'A6',
      title: 'register a too short hw_id',
      source: 'agent_controller_test.exs',
      astarte: { status: 422, body: { errors: { hw_id: ['is not a valid base64 encoded 128 bits id'] } } },
      run: () => register({ hw_id: 'YQ' }),
    },
    {
      id: 'A7',
      title: 'register a hw_id that is not base64url',
      source: 'agent_controller_test.exs',
      astarte: { status: 422, body: { errors: { hw_id: ['is not a valid base64 encoded 128 bits id'] } } },
      run: () => register({ hw_id: '5GGciygQUcHZqXyc1BNeC%' }),
    },
    {
      id: 'A8',
      title: 'initial_introspection entry without minor',
      source: 'agent_controller_test.exs, device_registration_request.ex',
      astarte: {
        status: 422,
        body: { errors: { initial_introspection: ['has invalid format for interface org.astarteplatform.Values'] } },
      },
      run: () => register({ hw_id: PENDING, initial_introspection: { 'org.astarteplatform.Values': { major: 2 } } }),
    },
    {
      id: 'A9',
      title: 'initial_introspection with a negative major',
      source: 'agent/agent_test.exs',
      astarte: {
        status: 422,
        body: { errors: { initial_introspection: ['has negative versions in interface org.astarteplatform.Values'] } },
      },
      run: () => register({ hw_id: PENDING, initial_introspection: { 'org.astarteplatform.Values': { major: -1, minor: 0 } } }),
    },
    {
      id: 'A10',
      title: 'initial_introspection with a negative minor',
      source: 'agent/agent_test.exs',
      astarte: {
        status: 422,
        body: { errors: { initial_introspection: ['has negative versions in interface org.astarteplatform.OtherValues'] } },
      },
      run: () =>
        register({ hw_id: PENDING, initial_introspection: { 'org.astarteplatform.OtherValues': { major: 1, minor: -2 } } }),
    },
    {
      id: 'A11',
      title: 'initial_introspection with a string version',
      source: 'device_registration_request.ex (is_integer guard)',
      astarte: { status: 422, body: { errors: { initial_introspection: ['has invalid format for interface i.F'] } } },
      run: () => register({ hw_id: PENDING, initial_introspection: { 'i.F': { major: '1', minor: 0 } } }),
    },
    {
      id: 'A12',
      title: 'initial_introspection that is not a map',
      source: 'Ecto cast of a :map field',
      astarte: { status: 422, body: { errors: { initial_introspection: ['is invalid'] } } },
      run: () => register({ hw_id: PENDING, initial_introspection: ['x'] }),
    },
    {
      id: 'A13',
      title: 're-register a device that requested credentials',
      source: 'agent_controller_test.exs',
      astarte: { status: 422, body: detail('Device already registered') },
      run: () => register({ hw_id: CONFIRMED }),
    },
    {
      id: 'A14',
      title: 're-register a pending device',
      source: 'agent/agent_test.exs',
      astarte: { status: 201, body: secretLike },
      run: () => register({ hw_id: INHIBITED }),
    },
    {
      id: 'A15',
      title: 'register without a token',
      source: 'agent_controller_test.exs',
      astarte: { status: 401, body: detail('Missing authorization token') },
      run: () => register({ hw_id: SPARE }, { auth: '' }),
    },
    {
      id: 'A16',
      title: 'register in an unknown realm',
      source: 'agent_controller_test.exs, verify_realm_exists.ex',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => s.request('POST', '/v1/unknown/agent/devices', { body: { data: { hw_id: SPARE } }, auth: `Bearer ${all}` }),
    },
    {
      id: 'A17',
      title: 'register with a body without "data"',
      source: 'agent_controller.ex (pattern on "data": Phoenix.ActionClauseError → 400)',
      astarte: { status: 400, body: detail('Bad request') },
      run: () => agent('POST', 'agent/devices', { body: { hw_id: SPARE } }),
    },
    {
      id: 'A18',
      title: 'register a new device beyond the realm registration limit',
      source: 'engine.ex (:device_registration_limit_reached has no FallbackController clause)',
      astarte: { status: 500 },
      ours: { status: 422, body: detail("The realm's device registration limit (0) has been reached") },
      run: () =>
        s.request('POST', `/v1/${LIMIT_REALM}/agent/devices`, { body: { data: { hw_id: PENDING } }, auth: `Bearer ${all}` }),
    },
    // ---- agent: unregister --------------------------------------------------------------------------
    {
      id: 'U1',
      title: 'unregister a registered device',
      source: 'agent_controller_test.exs',
      astarte: { status: 204, body: 'empty' },
      run: () => agent('DELETE', `agent/devices/${INHIBITED}`),
    },
    {
      id: 'U2',
      title: 'unregister the same device again',
      source: 'certs/engine_test.exs',
      astarte: { status: 204, body: 'empty' },
      run: () => agent('DELETE', `agent/devices/${INHIBITED}`),
    },
    {
      id: 'U3',
      title: 'unregister a device never registered',
      source: 'agent_controller_test.exs',
      astarte: { status: 404, body: detail('Device not found') },
      run: () => agent('DELETE', 'agent/devices/Lwf5dutoSuqS0kbG44-BAw'),
    },
    {
      id: 'U4',
      title: 'unregister without a token',
      source: 'agent_controller_test.exs',
      astarte: { status: 401, body: detail('Missing authorization token') },
      run: () => agent('DELETE', `agent/devices/${PENDING}`, { auth: '' }),
    },
    {
      id: 'U5',
      title: 'unregister in an unknown realm',
      source: 'agent_controller_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => s.request('DELETE', `/v1/unknown/agent/devices/${PENDING}`, { auth: `Bearer ${all}` }),
    },
    {
      id: 'U6',
      title: 'unregister a malformed device id',
      source: 'agent/agent_test.exs ({:error, :invalid_device_id} has no FallbackController clause)',
      astarte: { status: 500 },
      ours: { status: 422, body: { errors: { device_id: ['is not a valid base64 encoded 128 bits id'] } } },
      run: () => agent('DELETE', 'agent/devices/invalid'),
    },
    // ---- agent: token and a_pa (Guardian) ------------------------------------------------------------
    {
      id: 'J1',
      title: '"bearer invalid_token"',
      source: 'auth/auth_test.exs',
      astarte: { status: 401, body: detail('Invalid JWT token') },
      run: () => register({ hw_id: SPARE }, { auth: 'bearer invalid_token' }),
    },
    {
      id: 'J2',
      title: 'token with a mismatched signature',
      source: 'auth/auth_test.exs',
      astarte: { status: 401, body: detail('Invalid JWT token') },
      run: async () =>
        register(
          { hw_id: SPARE },
          { token: `${(await s.token({ scopes: ['^POST$::agent/devices'] })).split('.').slice(0, 2).join('.')}.fake_signature` },
        ),
    },
    {
      id: 'J3',
      title: 'a_pa ["POST::agent/devices"]',
      source: 'auth/auth_test.exs',
      astarte: { status: 201, body: secretLike },
      run: async () => register({ hw_id: SPARE }, { token: await s.token({ scopes: ['POST::agent/devices'] }) }),
    },
    {
      id: 'J4',
      title: 'a_pa [".*::.*"]',
      source: 'auth/auth_test.exs',
      astarte: { status: 201, body: secretLike },
      run: async () => register({ hw_id: SPARE }, { token: await s.token({ scopes: ['.*::.*'] }) }),
    },
    {
      id: 'J5',
      title: 'a_pa with explicit anchors ["^POST$::^agent/devices$"]',
      source: 'auth/auth_test.exs',
      astarte: { status: 201, body: secretLike },
      run: async () => register({ hw_id: SPARE }, { token: await s.token({ scopes: ['^POST$::^agent/devices$'] }) }),
    },
    {
      id: 'J6',
      title: 'a_pa for a path prefix only',
      source: 'auth/auth_test.exs, fallback_controller.ex (request_path)',
      astarte: { status: 403, body: unauthorizedPath('POST', '/v1/test/agent/devices') },
      run: async () => register({ hw_id: SPARE }, { token: await s.token({ scopes: ['POST::agent/dev'] }) }),
    },
    {
      id: 'J7',
      title: 'a_pa for another method',
      source: 'auth/auth_test.exs',
      astarte: { status: 403, body: unauthorizedPath('POST', '/v1/test/agent/devices') },
      run: async () => register({ hw_id: SPARE }, { token: await s.token({ scopes: ['GET::agent/dev'] }) }),
    },
    {
      id: 'J8',
      title: 'token without a_pa',
      source: 'auth_guardian.ex (a_pa defaults to [])',
      astarte: { status: 403, body: unauthorizedPath('POST', '/v1/test/agent/devices') },
      run: async () => register({ hw_id: SPARE }, { token: await jwt({}) }),
    },
    {
      id: 'J9',
      title: 'expired token',
      source: 'Guardian Jwt.Verify (:token_expired) → FallbackController catch-all',
      astarte: { status: 403, body: detail('Forbidden') },
      run: async () =>
        register({ hw_id: SPARE }, { token: await jwt({ a_pa: ['.*::.*'], exp: Math.floor(Date.now() / 1000) - 10 }) }),
    },
    {
      id: 'J10',
      title: 'token not yet valid (nbf)',
      source: 'Guardian Jwt.Verify (:token_not_yet_valid) → catch-all',
      astarte: { status: 403, body: detail('Forbidden') },
      run: async () =>
        register({ hw_id: SPARE }, { token: await jwt({ a_pa: ['.*::.*'], nbf: Math.floor(Date.now() / 1000) + 3600 }) }),
    },
    {
      id: 'J11',
      title: 'token issued a day in the future (iat)',
      source: 'Guardian Jwt.Verify has no iat clause: accepted',
      astarte: { status: 201, body: secretLike },
      ours: { status: 403, body: detail('Forbidden') },
      run: async () =>
        register({ hw_id: SPARE }, { token: await jwt({ a_pa: ['.*::.*'], iat: Math.floor(Date.now() / 1000) + 86_400 }) }),
    },
    // ---- device: info -------------------------------------------------------------------------------
    {
      id: 'D1',
      title: 'info with the secret ("BEARER" scheme)',
      source: 'device_controller_test.exs',
      astarte: {
        status: 200,
        body: (r) => assert.deepEqual(Object.keys(r.body.data).sort(), ['protocols', 'status', 'version']),
      },
      run: () => device('GET', CONFIRMED, '', undefined, `BEARER ${secrets[CONFIRMED]}`),
    },
    {
      id: 'D2',
      title: 'info of a confirmed device',
      source: 'device_controller_test.exs',
      astarte: { status: 200, body: (r) => assert.equal(r.body.data.status, 'confirmed') },
      run: () => device('GET', CONFIRMED, ''),
    },
    {
      id: 'D3',
      title: 'info of a pending device',
      source: 'device_controller_test.exs',
      astarte: { status: 200, body: (r) => assert.equal(r.body.data.status, 'pending') },
      run: () => device('GET', PENDING, ''),
    },
    {
      id: 'D4',
      title: 'info with a wrong secret',
      source: 'device_controller_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => device('GET', CONFIRMED, '', undefined, 'BEARER invalidsecret'),
    },
    {
      id: 'D5',
      title: 'info in an unknown realm',
      source: 'device_controller_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => s.request('GET', `/v1/unknown/devices/${CONFIRMED}`, { auth: `Bearer ${secrets[CONFIRMED]}` }),
    },
    {
      id: 'D6',
      title: 'info of an unknown device',
      source: 'engine.ex (DataAccess fetch → :device_not_found)',
      astarte: { status: 404, body: detail('Device not found') },
      run: () => device('GET', 'Lwf5dutoSuqS0kbG44-BAw', '', undefined, 'Bearer x'),
    },
    {
      id: 'D7',
      title: 'info without an Authorization header',
      source: 'device_controller.ex (get_secret → :unauthorized)',
      astarte: { status: 401, body: detail('Unauthorized') },
      run: () => device('GET', CONFIRMED, '', undefined, ''),
    },
    {
      id: 'D8',
      title: 'info with a malformed hw_id',
      source: 'engine.ex ({:error, :invalid_device_id} has no FallbackController clause)',
      astarte: { status: 500 },
      ours: { status: 422, body: { errors: { hw_id: ['is not a valid base64 encoded 128 bits id'] } } },
      run: () => device('GET', 'invalid', '', undefined, 'Bearer x'),
    },
    // ---- device: credentials ------------------------------------------------------------------------
    {
      id: 'C1',
      title: 'credentials for a valid CSR',
      source: 'device_controller_test.exs',
      astarte: { status: 201, body: pemCert },
      run: () => device('POST', PENDING, creds, { data: { csr: makeDeviceCsr().csrPem } }),
    },
    {
      id: 'C2',
      title: 'credentials without csr',
      source: 'device_controller_test.exs, credentials_request.ex',
      astarte: { status: 422, body: { errors: { csr: ["can't be blank"] } } },
      run: () => device('POST', PENDING, creds, { data: {} }),
    },
    {
      id: 'C3',
      title: 'credentials with a csr that is not PEM',
      source: 'credentials/credentials_test.exs, credentials_request.ex',
      astarte: { status: 422, body: { errors: { csr: ['is not a valid PEM CSR'] } } },
      run: () => device('POST', PENDING, creds, { data: { csr: 'invalidcsr' } }),
    },
    {
      id: 'C4',
      title: 'credentials with a certificate instead of a CSR',
      source: 'credentials_request.ex (pem_decode must give one CertificationRequest)',
      astarte: { status: 422, body: { errors: { csr: ['is not a valid PEM CSR'] } } },
      run: () => device('POST', PENDING, creds, { data: { csr: certs.live } }),
    },
    {
      id: 'C5',
      title: 'credentials: the changeset runs before the secret check',
      source: 'credentials.ex (apply_action before Engine.get_credentials)',
      astarte: { status: 422, body: { errors: { csr: ['is not a valid PEM CSR'] } } },
      run: () => device('POST', PENDING, creds, { data: { csr: 'x' } }, 'Bearer wrong'),
    },
    {
      id: 'C6',
      title: 'credentials without an Authorization header',
      source: 'device_controller_test.exs',
      astarte: { status: 401, body: detail('Unauthorized') },
      run: () => device('POST', PENDING, creds, { data: { csr: 'x' } }, ''),
    },
    {
      id: 'C7',
      title: 'credentials with "invalidsecret" (no Bearer scheme)',
      source: 'device_controller_test.exs',
      astarte: { status: 401, body: detail('Unauthorized') },
      run: () => device('POST', PENDING, creds, { data: { csr: 'x' } }, 'invalidsecret'),
    },
    {
      id: 'C8',
      title: 'credentials with a wrong secret',
      source: 'credentials/credentials_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => device('POST', PENDING, creds, { data: { csr: makeDeviceCsr().csrPem } }, 'Bearer wrong'),
    },
    {
      id: 'C9',
      title: 'credentials in an unknown realm',
      source: 'device_controller_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => s.request('POST', `/v1/unknown/devices/${PENDING}${creds}`, { body: { data: { csr: 'x' } }, auth: 'Bearer x' }),
    },
    {
      id: 'C10',
      title: 'credentials for an unknown device',
      source: 'credentials/credentials_test.exs',
      astarte: { status: 404, body: detail('Device not found') },
      run: () => device('POST', 'Lwf5dutoSuqS0kbG44-BAw', creds, { data: { csr: makeDeviceCsr().csrPem } }, 'Bearer x'),
    },
    {
      id: 'C11',
      title: 'credentials for another protocol',
      source: 'device_controller.ex (pattern on "astarte_mqtt_v1": ActionClauseError → 400)',
      astarte: { status: 400, body: detail('Bad request') },
      run: () => device('POST', PENDING, '/protocols/other/credentials', { data: { csr: 'x' } }),
    },
    {
      id: 'C12',
      title: 'credentials with a body without "data"',
      source: 'device_controller.ex (ActionClauseError → 400)',
      astarte: { status: 400, body: detail('Bad request') },
      run: () => device('POST', PENDING, creds, { csr: 'x' }),
    },
    {
      id: 'C13',
      title: 'credentials of an inhibited device',
      source: 'engine.ex (:credentials_request_inhibited has no FallbackController clause)',
      astarte: { status: 500 },
      ours: { status: 403, body: detail('Device is inhibited: credentials requests are refused') },
      run: async () => {
        const id = 'Bk0PV6QTRLiXl2yQ4wQQ7Q';
        secrets[id] = (await s.t.core.registerDevice(s.realm, id)).credentialsSecret;
        await s.t.core.setInhibited(s.realm, id, true);
        return device('POST', id, creds, { data: { csr: makeDeviceCsr().csrPem } });
      },
    },
    // ---- device: verify -----------------------------------------------------------------------------
    {
      id: 'V1',
      title: 'verify a live certificate',
      source: 'device_controller_test.exs',
      astarte: { status: 200, body: (r) => assert.deepEqual(Object.keys(r.body.data).sort(), ['timestamp', 'until', 'valid']) },
      run: () => verify(certs.live),
    },
    {
      id: 'V2',
      title: 'verify an empty client_crt',
      source: 'device_controller_test.exs',
      astarte: { status: 422, body: { errors: { client_crt: ["can't be blank"] } } },
      run: () => verify(''),
    },
    {
      id: 'V3',
      title: 'verify "invalid crt"',
      source: 'device_controller_test.exs, cert_verifier.ex',
      astarte: { status: 200, body: verifyFalse('INVALID') },
      run: () => verify('invalid crt'),
    },
    {
      id: 'V4',
      title: 'verify a certificate of a CA with another name',
      source: 'credentials/credentials_test.exs (self-signed → INVALID_ISSUER)',
      astarte: { status: 200, body: verifyFalse('INVALID_ISSUER') },
      run: () => verify(certs.foreignName),
    },
    {
      id: 'V5',
      title: "verify a certificate of another CA with this CA's name",
      source: 'cert_verifier.ex (pkix_path_validation: invalid_signature)',
      astarte: { status: 200, body: verifyFalse('INVALID_SIGNATURE') },
      run: () => verify(certs.foreignSameName),
    },
    {
      id: 'V6',
      title: 'verify an expired certificate',
      source: 'certs/cert_verifier_test.exs (cert_expired)',
      astarte: { status: 200, body: verifyFalse('EXPIRED') },
      run: () => verify(certs.expired),
    },
    {
      id: 'V7',
      title: 'verify a certificate not yet valid',
      source: 'pubkey_cert:validate_time (cert_expired on both ends)',
      astarte: { status: 200, body: verifyFalse('EXPIRED') },
      run: () => verify(certs.notYetValid),
    },
    {
      id: 'V8',
      title: 'verify a chain (certificate + CA)',
      source: 'cert_verifier.ex extract_der (exactly one PEM entry)',
      astarte: { status: 200, body: verifyFalse('INVALID') },
      run: () => verify(certs.live + s.t.core.caCertificatePem()),
    },
    {
      id: 'V9',
      title: 'verify in an unknown realm',
      source: 'device_controller_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () =>
        s.request('POST', `/v1/unknown/devices/${CONFIRMED}${creds}/verify`, {
          body: { data: { client_crt: certs.live } },
          auth: 'Bearer x',
        }),
    },
    {
      id: 'V10',
      title: 'verify with a wrong secret',
      source: 'credentials/credentials_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => device('POST', CONFIRMED, `${creds}/verify`, { data: { client_crt: certs.live } }, 'Bearer wrong'),
    },
    {
      id: 'V11',
      title: 'verify a certificate superseded by a newer credentials request',
      source: 'cert_verifier.ex (no revocation check: valid)',
      astarte: { status: 200, body: (r) => assert.equal(r.body.data.valid, true) },
      ours: { status: 200, body: verifyFalse('REVOKED') },
      run: () => verify(certs.superseded),
    },
    {
      id: 'V12',
      title: "verify another device's certificate from this CA",
      source: 'cert_verifier.ex (the subject is not checked: valid)',
      astarte: { status: 200, body: (r) => assert.equal(r.body.data.valid, true) },
      ours: { status: 200, body: verifyFalse('INVALID') },
      run: () => verify(certs.otherDevice),
    },
    // ---- service ------------------------------------------------------------------------------------
    {
      id: 'S1',
      title: 'GET /version',
      source: 'version_controller_test.exs',
      astarte: { status: 200, body: (r) => assert.deepEqual(Object.keys(r.body), ['data']) },
      run: () => s.request('GET', '/version'),
    },
    {
      id: 'S2',
      title: 'GET /v1/{realm}/version',
      source: 'version_controller_test.exs',
      astarte: { status: 200, body: (r) => assert.equal(typeof r.body.data, 'string') },
      run: () => s.request('GET', `/v1/${s.realm}/version`),
    },
    {
      id: 'S3',
      title: 'GET /v1/{unknown}/version',
      source: 'version_controller_test.exs',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => s.request('GET', '/v1/unknown/version'),
    },
    {
      id: 'S4',
      title: 'GET /health',
      source: 'health_plug.ex, plugs/plug_test.exs',
      astarte: { status: 200, body: 'empty' },
      run: () => s.request('GET', '/health'),
    },
    {
      id: 'S5',
      title: 'GET /v1/{realm}/health',
      source: 'router.ex, health_controller.ex',
      astarte: { status: 200, body: 'empty' },
      run: () => s.request('GET', `/v1/${s.realm}/health`),
    },
    {
      id: 'S6',
      title: 'GET /v1/{unknown}/health',
      source: 'router.ex (:realm_api pipeline: VerifyRealmExists)',
      astarte: { status: 403, body: detail('Forbidden') },
      run: () => s.request('GET', '/v1/unknown/health'),
    },
    {
      id: 'S7',
      title: 'a route that does not exist',
      source: 'error_view.ex (404.json)',
      astarte: { status: 404, body: detail('Page not found') },
      run: () => s.request('GET', '/v1/test/nothing'),
    },
  ];

  test('every row is documented in docs/pairing-api.md under its id', () => {
    const doc = readFileSync(new URL('../../docs/pairing-api.md', import.meta.url), 'utf8');
    for (const row of [...rows, { id: 'S8' }]) assert.match(doc, new RegExp(`^\\| ${row.id} +\\|`, 'm'), `${row.id} missing`);
  });

  for (const row of rows) {
    test(`${row.id} ${row.title}: Astarte ${row.astarte.status}${row.ours ? `, ours ${row.ours.status} (departure)` : ''}`, async () => {
      const want = row.ours ?? row.astarte;
      assert.notEqual(want.status, 500, 'we never answer 500 where Astarte does');
      const r = await row.run();
      assert.equal(r.status, want.status, `${row.id}: ${r.text}`);
      if (want.body === 'empty') assert.equal(r.text, '');
      else if (typeof want.body === 'function') want.body(r);
      else if (want.body) assert.deepEqual(r.body, want.body);
    });
  }

  // Last: it closes the core's store under the running server.
  test('S8 GET /health answers 503 with an empty body when the store does not answer', async () => {
    await s.t.core.close();
    const r = await s.request('GET', '/health');
    assert.equal(r.status, 503);
    assert.equal(r.text, '');
  });
});
