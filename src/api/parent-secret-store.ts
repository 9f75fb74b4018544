// A SecretStore that asks the parent process (the Electron shell, which keeps secrets with the OS
// keychain through safeStorage) over the Node IPC channel. Used by the core when it runs as the
// desktop app's child; web mode uses the 0600 file store instead.

import type { SecretStore } from '../station/secret-store.ts';
import { ApiError } from './api-errors.ts';

interface Reply {
  type: 'secret-reply';
  id: number;
  ok: boolean;
  value?: string;
  error?: string;
}

export class ParentSecretStore implements SecretStore {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  constructor(private readonly timeoutMs = 10_000) {
    if (!process.send) throw new ApiError('NO_PARENT');
    process.on('message', (m: unknown) => {
      const r = m as Reply;
      if (r?.type === 'secret-reply') this.waiting.get(r.id)?.(r);
    });
  }

  private ask(op: 'get' | 'set' | 'delete', name: string, value?: string): Promise<string | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ApiError('KEYCHAIN_TIMEOUT'));
      }, this.timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        if (r.ok) resolve(r.value);
        else reject(new ApiError('KEYCHAIN_ERROR', r.error ?? 'unknown error'));
      });
      process.send?.({ type: 'secret', id, op, name, value });
    });
  }

  get(name: string): Promise<string | undefined> {
    return this.ask('get', name);
  }
  async set(name: string, value: string): Promise<void> {
    await this.ask('set', name, value);
  }
  async delete(name: string): Promise<void> {
    await this.ask('delete', name);
  }
}
