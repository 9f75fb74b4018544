// A /sign request exactly as Foundries' lmp-device-register builds it: an EC P-256 key from
// `openssl ecparam -genkey -name prime256v1`, a CSR from `openssl req -new -config` with
// CN=<uuid>, OU=<factory>, businessCategory=production (PRODUCTION=1), and a JSON body written by
// boost's property tree (every value a string, "/" escaped as "\/").

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bitString, ctx, oid, seq, TAG, tlv } from '../../src/pairing/ca/der-codec.ts';
import { openssl, tempDir } from '../helpers/ca-csr.ts';

export interface LmpRequest {
  uuid: string;
  pkeyPem: string;
  csrPem: string;
  /** The body text as the client posts it. */
  json: string;
}

export function lmpCsr(o: { uuid: string; factory?: string; production?: boolean; dn?: string }): {
  pkeyPem: string;
  csrPem: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-lmp-'));
  try {
    const key = openssl(['ecparam', '-genkey', '-name', 'prime256v1']);
    if (key.status !== 0) throw new Error(key.stderr);
    writeFileSync(join(dir, 'pkey.pem'), `${key.stdout}\n`, { mode: 0o600 });
    const dn = o.dn ?? `CN=${o.uuid}\nOU=${o.factory}\n${o.production === false ? '' : 'businessCategory=production\n'}`;
    writeFileSync(
      join(dir, 'device.cnf'),
      '[req]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\ndefault_md = sha256\n\n' +
        `[dn]\n${dn}\n[ext]\nkeyUsage=critical, digitalSignature\nextendedKeyUsage=critical, clientAuth\n`,
    );
    const csr = openssl(['req', '-new', '-config', join(dir, 'device.cnf'), '-key', join(dir, 'pkey.pem')]);
    if (csr.status !== 0) throw new Error(csr.stderr);
    return { pkeyPem: key.stdout, csrPem: csr.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A CSR with a subject openssl would refuse to write (e.g. a CN longer than X.520's 64 characters), built
 * field by field and signed with a fresh P-256 key: what a device with its own ASN.1 code could send.
 */
export function craftedCsr(subject: Array<[oidDotted: string, value: string]>): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = seq(...subject.map(([o, v]) => tlv(TAG.SET, seq(oid(o), tlv(TAG.UTF8_STRING, Buffer.from(v))))));
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const info = seq(tlv(TAG.INTEGER, Buffer.from([0])), name, spki, tlv(ctx(0)));
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  const der = seq(info, seq(oid('1.2.840.10045.4.3.2')), bitString(signature));
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** boost::property_tree::write_json: strings only, "/" escaped. */
export function ptreeJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'boolean' ? String(x) : x), 4).replaceAll('/', '\\/');
}

export function lmpRequest(o: { factory: string; uuid?: string; sotaDir?: string; tag?: string; group?: string }): LmpRequest {
  const uuid = o.uuid ?? randomUUID();
  const sotaDir = o.sotaDir ?? '/var/sota';
  const { pkeyPem, csrPem } = lmpCsr({ uuid, factory: o.factory });
  const body: Record<string, unknown> = {
    name: uuid,
    uuid,
    csr: csrPem,
    'hardware-id': 'intel-corei7-64',
    'sota-config-dir': sotaDir,
    'use-ostree-server': true,
    overrides: {
      pacman: {
        tags: `"${o.tag ?? 'main'}"`,
        type: '"ostree+compose_apps"',
        compose_apps_root: `"${sotaDir}/compose-apps"`,
        reset_apps_root: `"${sotaDir}/reset-apps"`,
      },
    },
  };
  if (o.group !== undefined) body.group = o.group;
  return { uuid, pkeyPem, csrPem, json: ptreeJson(body) };
}

/** What the client does with a 201: pkey.pem, then every member of the answer as a file. */
export function writeSotaDir(dir: string, pkeyPem: string, answer: Record<string, string>): void {
  writeFileSync(join(dir, 'pkey.pem'), pkeyPem, { mode: 0o600 });
  for (const [name, text] of Object.entries(answer)) writeFileSync(join(dir, name), text);
}

export const readText = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');

/**
 * What lmp-device-register's user checks of a 201: the files written as the client writes them, `openssl verify`
 * of client.pem against root.crt, the CSR's subject kept, the certificate for the device's own key, client.chained
 * starting with client.pem. `more` looks at the written files before they are removed (sota.toml's contents).
 */
export function assertSignedFiles(
  req: LmpRequest,
  answer: Record<string, string>,
  factory: string,
  more: (dir: string) => void = () => {},
): void {
  assert.deepEqual(Object.keys(answer).sort(), ['client.chained', 'client.pem', 'root.crt', 'sota.toml']);
  const { dir, cleanup } = tempDir('imprint-sota-');
  try {
    writeSotaDir(dir, req.pkeyPem, answer);
    const v = openssl(['verify', '-CAfile', 'root.crt', 'client.pem'], { cwd: dir });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /client.pem: OK/);
    const subject = openssl(['x509', '-in', 'client.pem', '-noout', '-subject', '-nameopt', 'RFC2253'], { cwd: dir }).stdout;
    assert.match(subject, new RegExp(`CN=${req.uuid}`));
    assert.match(subject, new RegExp(`OU=${factory}`));
    assert.match(subject, /businessCategory=production/);
    const certKey = openssl(['x509', '-in', 'client.pem', '-noout', '-pubkey'], { cwd: dir }).stdout;
    const devKey = openssl(['ec', '-in', 'pkey.pem', '-pubout'], { cwd: dir }).stdout;
    assert.equal(certKey, devKey, "the certificate is for the device's own key");
    assert.ok(readText(dir, 'client.chained').startsWith(readText(dir, 'client.pem')));
    more(dir);
  } finally {
    cleanup();
  }
}
