// Who is at the station: operators sign in by badge scan or name; an admin proves the admin PIN.
// The PIN is never stored in clear: a bcrypt hash in a 0600 file, or IMPRINT_ADMIN_PIN from the
// environment. A fresh station makes a random PIN on first start and prints it once. Wrong PINs
// lock admin sign-in, and the lock is kept on disk so that a restart does not lift it.
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { ApiError } from './api-errors.ts';
import type { OperatorSession } from './station-api.ts';

export const ADMIN_PIN_FILE = 'admin-pin.json';
/** Wrong-PIN count and lock, kept across restarts (mode 0600). */
export const ADMIN_PIN_LOCKOUT_FILE = 'admin-pin-lockout.json';
export const ADMIN_PIN_ENV = 'IMPRINT_ADMIN_PIN';
/** Badge scans look like `OP:Alice` or `BADGE:1234`: the scan field recognises them as sign-ins. */
export const BADGE_PATTERN = /^(?:OP|BADGE)[:-]\s*(.+)$/i;

const MAX_FAILURES = 5;
/** The first lock lasts a minute; each further lock without a right PIN in between doubles, up to an hour. */
const LOCKOUT_MS = 60_000;
const MAX_LOCKOUT_MS = 60 * 60_000;

interface LockoutState {
  /** Wrong PINs since the last lock or the last right PIN. */
  failures: number;
  /** Locks since the last right PIN. */
  lockouts: number;
  /** Epoch ms; 0 when not locked. */
  lockedUntil: number;
}

const UNLOCKED: LockoutState = { failures: 0, lockouts: 0, lockedUntil: 0 };

export interface OperatorAuthOptions {
  /** The clock (tests). */
  now?: () => number;
}

export interface AdminPinSetup {
  /** Set only when this call created the PIN (first start or reset): show it once, never log it. */
  newPin?: string;
  source: 'env' | 'file';
}

export class OperatorAuth {
  private readonly hash: string;
  private readonly lockoutFile: string;
  private readonly now: () => number;
  private state: LockoutState;

  private constructor(hash: string, dataDir: string, opts: OperatorAuthOptions) {
    this.hash = hash;
    this.lockoutFile = join(dataDir, ADMIN_PIN_LOCKOUT_FILE);
    this.now = opts.now ?? Date.now;
    this.state = this.loadLockout();
  }

  /**
   * The admin PIN for a data directory: IMPRINT_ADMIN_PIN when set, else the stored hash, else a
   * new random 6-digit PIN (returned in `newPin` so the caller prints it once).
   */
  static open(
    dataDir: string,
    env: NodeJS.ProcessEnv = process.env,
    opts: OperatorAuthOptions = {},
  ): { auth: OperatorAuth; setup: AdminPinSetup } {
    const fromEnv = env[ADMIN_PIN_ENV];
    if (fromEnv) {
      checkPinShape(fromEnv);
      return { auth: new OperatorAuth(bcrypt.hashSync(fromEnv, 10), dataDir, opts), setup: { source: 'env' } };
    }
    const file = join(dataDir, ADMIN_PIN_FILE);
    if (existsSync(file)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { hash?: unknown };
      if (typeof stored.hash !== 'string' || !stored.hash.startsWith('$2')) {
        throw new ApiError('ADMIN_PIN_FILE_INVALID', file);
      }
      return { auth: new OperatorAuth(stored.hash, dataDir, opts), setup: { source: 'file' } };
    }
    const newPin = OperatorAuth.reset(dataDir);
    return { auth: new OperatorAuth(bcrypt.hashSync(newPin, 10), dataDir, opts), setup: { source: 'file', newPin } };
  }

  /**
   * Make and store a new random PIN (hash only, file mode 0600); returns it to show once. Lifts a
   * lock: whoever can run this on the station's data has shown more than a PIN would.
   */
  static reset(dataDir: string, pin: string = String(randomInt(0, 1_000_000)).padStart(6, '0')): string {
    checkPinShape(pin);
    const file = join(dataDir, ADMIN_PIN_FILE);
    ensurePrivateDir(dirname(file));
    writeFileSync(file, `${JSON.stringify({ version: 1, hash: bcrypt.hashSync(pin, 10) })}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    rmSync(join(dataDir, ADMIN_PIN_LOCKOUT_FILE), { force: true });
    return pin;
  }

  /** Throws ADMIN_PIN_INVALID (or PIN_LOCKED after repeated failures); never echoes the PIN. */
  async requireAdmin(pin: string | undefined): Promise<void> {
    const now = this.now();
    if (now < this.state.lockedUntil) {
      const minutes = Math.ceil((this.state.lockedUntil - now) / 60_000);
      const wait = minutes === 1 ? 'a minute' : `${minutes} minutes`;
      throw new ApiError('PIN_LOCKED', `locked for ${wait}`);
    }
    // Counted as wrong before the (slow) comparison: parallel guesses cannot all slip in under the lock.
    const failures = this.state.failures + 1;
    if (failures >= MAX_FAILURES) {
      const lockouts = this.state.lockouts + 1;
      const lockMs = Math.min(LOCKOUT_MS * 2 ** (lockouts - 1), MAX_LOCKOUT_MS);
      this.saveLockout({ failures: 0, lockouts, lockedUntil: now + lockMs });
    } else {
      this.saveLockout({ ...this.state, failures });
    }
    const ok = typeof pin === 'string' && pin.length > 0 && pin.length <= 64 && (await bcrypt.compare(pin, this.hash));
    if (!ok) {
      throw new ApiError('ADMIN_PIN_INVALID');
    }
    this.saveLockout(UNLOCKED);
  }

  /**
   * The lock as last saved. A file that cannot be read as one fails closed (a one-minute lock),
   * and a lock further ahead than the longest one (the clock was set back) is cut to that.
   */
  private loadLockout(): LockoutState {
    const now = this.now();
    if (!existsSync(this.lockoutFile)) return UNLOCKED;
    let saved: Partial<LockoutState> | undefined;
    try {
      saved = JSON.parse(readFileSync(this.lockoutFile, 'utf8')) as Partial<LockoutState>;
    } catch {}
    const { failures, lockouts, lockedUntil } = saved ?? {};
    if (![failures, lockouts, lockedUntil].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
      // Rewritten as a plain lock, so that it ends like any other.
      const closed = { failures: 0, lockouts: 1, lockedUntil: now + LOCKOUT_MS };
      this.saveLockout(closed);
      return closed;
    }
    const state = { failures: failures as number, lockouts: lockouts as number, lockedUntil: lockedUntil as number };
    if (state.lockedUntil <= now + MAX_LOCKOUT_MS) return state;
    const cut = { ...state, lockedUntil: now + MAX_LOCKOUT_MS };
    this.saveLockout(cut);
    return cut;
  }

  /** Written before the answer goes out: a restart right after a wrong PIN still counts it. */
  private saveLockout(state: LockoutState): void {
    this.state = state;
    const tmp = `${this.lockoutFile}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.lockoutFile), { recursive: true });
      writeFileSync(tmp, `${JSON.stringify({ version: 1, ...state })}\n`, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, this.lockoutFile);
    } catch {
      // Storage trouble (full, read-only): the lock still holds in this process; an admin is
      // not refused because the count could not be written.
      rmSync(tmp, { force: true });
    }
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
      throw new ApiError('VALIDATION', 'scan your badge or type your name to sign in');
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
    throw new ApiError('ADMIN_PIN_WEAK');
  }
}
