// Secrets of the core (agent tokens) kept with Electron's safeStorage (the OS keychain) instead of
// the web-mode 0600 file: the core child asks over its IPC channel; only ciphertext hits the disk.
// On Linux safeStorage falls back to a hard-coded key ("basic_text") when no keyring runs: that
// only obfuscates, so a token is refused then, with what to do, instead of being kept weakly.
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

/** The part of safeStorage used here (a stand-in in tests). */
export type SafeStorageLike = Pick<
  typeof safeStorage,
  'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'
>;

/** Linux backends that are a real keychain; `basic_text` and `unknown` are not. */
const REAL_LINUX_KEYCHAINS = new Set(['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6']);

/** Why secrets cannot be kept safely here, or undefined when the OS keychain is real. */
export function keychainProblem(storage: SafeStorageLike, platform: NodeJS.Platform = process.platform): string | undefined {
  if (!storage.isEncryptionAvailable()) {
    return 'The OS keychain is not available, so the agent token cannot be kept safely. Sign in to the desktop session (its keychain unlocks with it) and try again.';
  }
  if (platform === 'linux') {
    const backend = storage.getSelectedStorageBackend();
    if (!REAL_LINUX_KEYCHAINS.has(backend)) {
      return `This desktop has no keychain (Electron's safeStorage would use "${backend}", which only obfuscates), so the agent token is not stored. Install and unlock GNOME Keyring (libsecret) or KWallet and restart Imprint, or start it with --password-store=gnome-libsecret.`;
    }
  }
  return undefined;
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
export function answerSecretRequest(
  child: Pick<ChildProcess, 'send'>,
  file: string,
  req: SecretRequest,
  storage: SafeStorageLike = safeStorage,
  platform: NodeJS.Platform = process.platform,
): void {
  try {
    const values = readAll(file);
    let value: string | undefined;
    const needKeychain = req.op === 'set' || (req.op === 'get' && values[req.name] !== undefined);
    const problem = needKeychain ? keychainProblem(storage, platform) : undefined;
    if (problem) throw new Error(problem);
    if (req.op === 'get') {
      const sealed = values[req.name];
      value = sealed ? storage.decryptString(Buffer.from(sealed, 'base64')) : undefined;
    } else if (req.op === 'set' && typeof req.value === 'string') {
      values[req.name] = storage.encryptString(req.value).toString('base64');
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
