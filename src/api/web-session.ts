// The web session token, kept in `<data>/web-session.json` (0600) so that a restarted station
// takes back the pages it served: they reconnect by themselves instead of asking for a new
// address. The trade: the token lives as long as the data folder (anyone who can read that
// folder could read the station's secrets anyway); `imprint web --new-token` replaces it, and
// every page must then be opened again with the new address.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/logger.ts';
import { tightenPrivateFile, writePrivateFile } from '../common/private-fs.ts';
import { newSessionToken } from './web-server.ts';

export const WEB_SESSION_FILE = 'web-session.json';

/** A token this station made: 24 random bytes, base64url (web-server.ts newSessionToken). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32,}$/;

export function webSessionFile(dataDir: string): string {
  return join(dataDir, WEB_SESSION_FILE);
}

/**
 * The kept session token, or a new one (first start, `renew`, or a file that does not hold a
 * token of ours: it is replaced, and the log says so without its content).
 */
export function sessionToken(dataDir: string, opts: { renew?: boolean; logger?: Logger } = {}): string {
  const file = webSessionFile(dataDir);
  if (!opts.renew && existsSync(file)) {
    tightenPrivateFile(file, opts.logger);
    let token: unknown;
    try {
      token = (JSON.parse(readFileSync(file, 'utf8')) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    if (typeof token === 'string' && TOKEN_SHAPE.test(token)) return token;
    opts.logger?.warn({ file }, 'the kept web session token is not valid: a new one replaces it');
  }
  const token = newSessionToken();
  writePrivateFile(file, `${JSON.stringify({ token, createdAt: new Date().toISOString() })}\n`);
  return token;
}
