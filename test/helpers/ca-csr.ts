// Test helpers for certificates: make CSRs with the openssl CLI, run openssl with a timeout, tamper with DER.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type CsrKind = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-2048-pss' | 'rsa-1024' | 'ed25519';

const NEWKEY: Record<CsrKind, string[]> = {
  'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
  'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-sha384'],
  'rsa-2048': ['-newkey', 'rsa:2048'],
  'rsa-2048-pss': ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'],
  'rsa-1024': ['-newkey', 'rsa:1024'],
  ed25519: ['-newkey', 'ed25519'],
};

export interface OpensslResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the openssl CLI (bounded by a timeout, never left running). */
export function openssl(args: string[], opts: { cwd?: string; input?: string } = {}): OpensslResult {
  const r = spawnSync('openssl', args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temp dir and its cleanup. */
export function tempDir(prefix = 'imprint-ca-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A new key and a PEM CSR signed with it, made by `openssl req` (subject as the device would choose it). */
export function makeCsr(kind: CsrKind = 'ec-p256', subject = '/CN=anything'): { csrPem: string; keyPem: string } {
  const { dir, cleanup } = tempDir('imprint-csr-');
  try {
    const r = openssl(['req', '-new', ...NEWKEY[kind], '-nodes', '-keyout', 'key.pem', '-subj', subject, '-out', 'csr.pem'], {
      cwd: dir,
    });
    if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
    return { csrPem: readFileSync(join(dir, 'csr.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    cleanup();
  }
}

export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

/** The CSR with one bit of its signature's last byte flipped (structure intact, signature wrong). */
export function breakCsrSignature(csrPem: string): string {
  const der = pemToDer(csrPem);
  der[der.length - 1] ^= 0x01;
  return derToPem(der, 'CERTIFICATE REQUEST');
}

/** The CSR with one character of its subject changed (signature no longer matches the signed data). */
export function tamperCsrSubject(csrPem: string, from = 'anything'): string {
  const der = pemToDer(csrPem);
  const at = der.indexOf(Buffer.from(from, 'latin1'));
  if (at < 0) throw new Error(`subject text "${from}" not found in the CSR`);
  der[at] ^= 0x20; // flip the case of the first letter
  return derToPem(der, 'CERTIFICATE REQUEST');
}

/** An EC P-256 CSR whose public point was altered so it is no longer on the curve. */
export function tamperCsrEcPoint(csrPem: string): string {
  const der = pemToDer(csrPem);
  const at = der.indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04])); // BIT STRING of an uncompressed P-256 point
  if (at < 0) throw new Error('no uncompressed P-256 point in the CSR');
  der[at + 4 + 63] ^= 0x01; // last byte of y
  return derToPem(der, 'CERTIFICATE REQUEST');
}

/** Writes PEM files into `dir` and returns their paths, for openssl commands. */
export function writeFiles(dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], text);
  }
  return out;
}
