// Where the station keeps small secrets it must remember (agent tokens): behind an interface so
// the Electron shell can put them in the OS keychain (safeStorage) instead of this 0600 file.
import { existsSync, readFileSync } from 'node:fs';
import { writePrivateFile } from '../common/private-fs.ts';
import { StationError } from './station-errors.ts';

export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

/** A JSON file readable by its owner only (mode 0600), replaced atomically on every change. */
export class FileSecretStore implements SecretStore {
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  private read(): Record<string, string> {
    if (!existsSync(this.file)) return {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      }
    } catch {
      // fall through: never echo the file's content, it holds secrets
    }
    throw new StationError('SECRET_STORE_CORRUPT', this.file);
  }

  private write(values: Record<string, string>): void {
    writePrivateFile(this.file, `${JSON.stringify(values, null, 2)}\n`);
  }

  async get(name: string): Promise<string | undefined> {
    return this.read()[name];
  }

  async set(name: string, value: string): Promise<void> {
    this.write({ ...this.read(), [name]: value });
  }

  async delete(name: string): Promise<void> {
    const values = this.read();
    if (!(name in values)) return;
    delete values[name];
    this.write(values);
  }
}

/** A masked hint of a token for screens and logs: never enough of it to use. */
export function maskSecret(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return value.length > 12 ? `${value.slice(0, 4)}…${value.slice(-3)} (set)` : '(set)';
}
