// Keys and CSRs for pairing tests: an agent (realm) key pair and device CSRs made by openssl.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PemKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

/** A realm's agent key pair (signs agent JWTs); EC P-256 by default. */
export function makeAgentKeyPair(type: 'ec' | 'rsa' = 'ec'): PemKeyPair {
  const { publicKey, privateKey } =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

function openssl(args: string[], input?: string): string {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

/** A device key and a CSR for it (the CN is whatever the device likes: the core overrides it). */
export function makeDeviceCsr(opts: { type?: 'ec' | 'rsa'; commonName?: string } = {}): {
  csrPem: string;
  privateKeyPem: string;
} {
  const keys = makeAgentKeyPair(opts.type ?? 'ec');
  const dir = mkdtempSync(join(tmpdir(), 'imprint-csr-'));
  try {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
    const csrPem = openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${opts.commonName ?? 'device'}`, '-sha256']);
    return { csrPem, privateKeyPem: keys.privateKeyPem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same CSR with one byte of its signature flipped: fails proof of possession. */
export function tamperCsrSignature(csrPem: string): string {
  const b64 = csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 2] ^= 0x01;
  const body = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** Run `openssl verify` of a certificate against the CA (and its CRL when given). */
export function opensslVerify(caPem: string, certPem: string, opts: { crlPem?: string } = {}): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-openssl-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'cert.pem'), certPem);
    const args = ['verify', '-CAfile', join(dir, 'ca.pem')];
    if (opts.crlPem) {
      writeFileSync(join(dir, 'crl.pem'), opts.crlPem);
      args.push('-crl_check', '-CRLfile', join(dir, 'crl.pem'));
    }
    args.push(join(dir, 'cert.pem'));
    const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 10_000 });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The subject of a PEM certificate as openssl prints it (e.g. `CN=realm/deviceid`). */
export function opensslSubject(certPem: string): string {
  return openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], certPem)
    .trim()
    .replace(/^subject=\s*/, '');
}
