// A /sign request exactly as Foundries' lmp-device-register builds it: an EC P-256 key from
// `openssl ecparam -genkey -name prime256v1`, a CSR from `openssl req -new -config` with
// CN=<uuid>, OU=<factory>, businessCategory=production (PRODUCTION=1), and a JSON body written by
// boost's property tree (every value a string, "/" escaped as "\/").
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bitString, ctx, oid, seq, TAG, tlv } from '../../src/pairing/ca/der-codec.ts';
import { openssl } from '../helpers/ca-csr.ts';

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
