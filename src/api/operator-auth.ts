// Who is at the station: operators sign in by badge scan or name; an admin proves the admin PIN.
// The PIN is never stored in clear: a bcrypt hash in a 0600 file, or IMPRINT_ADMIN_PIN from the
// environment. A fresh station makes a random PIN on first start and prints it once.
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ImprintError } from '../common/errors.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import type { OperatorSession } from './station-api.ts';

export const ADMIN_PIN_FILE = 'admin-pin.json';
export const ADMIN_PIN_ENV = 'IMPRINT_ADMIN_PIN';
/** Badge scans look like `OP:Alice` or `BADGE:1234`: the scan field recognises them as sign-ins. */
export const BADGE_PATTERN = /^(?:OP|BADGE)[:-]\s*(.+)$/i;

const MAX_FAILURES = 5;
const LOCKOUT_MS = 60_000;

export interface AdminPinSetup {
  /** Set only when this call created the PIN (first start or reset): show it once, never log it. */
  newPin?: string;
  source: 'env' | 'file';
}

export class OperatorAuth {
  private hash: string;
  private failures = 0;
  private lockedUntil = 0;

  private constructor(hash: string) {
    this.hash = hash;
  }

  /**
   * The admin PIN for a data directory: IMPRINT_ADMIN_PIN when set, else the stored hash, else a
   * new random 6-digit PIN (returned in `newPin` so the caller prints it once).
   */
  static open(dataDir: string, env: NodeJS.ProcessEnv = process.env): { auth: OperatorAuth; setup: AdminPinSetup } {
    const fromEnv = env[ADMIN_PIN_ENV];
    if (fromEnv) {
      checkPinShape(fromEnv);
      return { auth: new OperatorAuth(bcrypt.hashSync(fromEnv, 10)), setup: { source: 'env' } };
    }
    const file = join(dataDir, ADMIN_PIN_FILE);
    if (existsSync(file)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { hash?: unknown };
      if (typeof stored.hash !== 'string' || !stored.hash.startsWith('$2')) {
        throw new ImprintError('ADMIN_PIN_FILE_INVALID', `The admin PIN file ${file} is damaged`, {
          hint: 'Run `imprint admin-pin --reset` to set a new PIN',
        });
      }
      return { auth: new OperatorAuth(stored.hash), setup: { source: 'file' } };
    }
    const newPin = OperatorAuth.reset(dataDir);
    return { auth: new OperatorAuth(bcrypt.hashSync(newPin, 10)), setup: { source: 'file', newPin } };
  }

  /** Make and store a new random PIN (hash only, file mode 0600); returns it to show once. */
  static reset(dataDir: string, pin: string = String(randomInt(0, 1_000_000)).padStart(6, '0')): string {
    checkPinShape(pin);
    const file = join(dataDir, ADMIN_PIN_FILE);
    ensurePrivateDir(dirname(file));
    writeFileSync(file, `${JSON.stringify({ version: 1, hash: bcrypt.hashSync(pin, 10) })}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return pin;
  }

  /** Throws ADMIN_PIN_INVALID (or PIN_LOCKED after repeated failures); never echoes the PIN. */
  async requireAdmin(pin: string | undefined): Promise<void> {
    const now = Date.now();
    if (now < this.lockedUntil) {
      throw new ImprintError('PIN_LOCKED', 'Too many wrong PINs: admin sign-in is locked for a minute', {
        hint: 'Wait a minute, then try again',
      });
    }
    const ok = typeof pin === 'string' && pin.length > 0 && pin.length <= 64 && (await bcrypt.compare(pin, this.hash));
    if (!ok) {
      this.failures += 1;
      if (this.failures >= MAX_FAILURES) {
        this.failures = 0;
        this.lockedUntil = now + LOCKOUT_MS;
      }
      throw new ImprintError('ADMIN_PIN_INVALID', 'Wrong admin PIN', { hint: 'Only an admin can do this; ask your supervisor' });
    }
    this.failures = 0;
  }

  /** Badge (`OP:name`), name, or admin PIN (with an optional name). */
  async signIn(credentials: { name?: string; badge?: string; pin?: string }): Promise<OperatorSession> {
    const signedInAt = new Date().toISOString();
    if (credentials.pin) {
      await this.requireAdmin(credentials.pin);
      return { name: cleanName(credentials.name) ?? 'admin', role: 'admin', signedInAt };
    }
    const fromBadge = credentials.badge ? (BADGE_PATTERN.exec(credentials.badge.trim())?.[1] ?? credentials.badge) : undefined;
    const name = cleanName(fromBadge) ?? cleanName(credentials.name);
    if (!name) {
      throw new ImprintError('VALIDATION', 'Scan your badge or type your name to sign in');
    }
    return { name, role: 'operator', signedInAt };
  }
}

function cleanName(s: string | undefined): string | undefined {
  const t = s?.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return t ? t.slice(0, 100) : undefined;
}

function checkPinShape(pin: string): void {
  if (pin.length < 4 || pin.length > 64) {
    throw new ImprintError('ADMIN_PIN_WEAK', 'The admin PIN must have 4 to 64 characters');
  }
}
