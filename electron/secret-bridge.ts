// Secrets of the core (agent tokens) kept with Electron's safeStorage (the OS keychain) instead of
// the web-mode 0600 file: the core child asks over its IPC channel; only ciphertext hits the disk.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { safeStorage } from 'electron';

export interface SecretRequest {
  type: 'secret';
  id: number;
  op: 'get' | 'set' | 'delete';
  name: string;
  value?: string;
}

function readAll(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
}

function writeAll(file: string, values: Record<string, string>): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(values), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function isSecretRequest(m: unknown): m is SecretRequest {
  const r = m as SecretRequest;
  return (
    !!r &&
    r.type === 'secret' &&
    typeof r.id === 'number' &&
    typeof r.name === 'string' &&
    ['get', 'set', 'delete'].includes(r.op)
  );
}

/** Answer one request from the core child; replies carry no secret except to `get`. */
export function answerSecretRequest(child: ChildProcess, file: string, req: SecretRequest): void {
  try {
    if (!safeStorage.isEncryptionAvailable()) throw new Error('The OS keychain is not available');
    const values = readAll(file);
    let value: string | undefined;
    if (req.op === 'get') {
      const sealed = values[req.name];
      value = sealed ? safeStorage.decryptString(Buffer.from(sealed, 'base64')) : undefined;
    } else if (req.op === 'set' && typeof req.value === 'string') {
      values[req.name] = safeStorage.encryptString(req.value).toString('base64');
      writeAll(file, values);
    } else if (req.op === 'delete') {
      delete values[req.name];
      writeAll(file, values);
    }
    child.send({ type: 'secret-reply', id: req.id, ok: true, value });
  } catch (e) {
    child.send({ type: 'secret-reply', id: req.id, ok: false, error: (e as Error).message });
  }
}
