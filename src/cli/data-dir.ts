// Where every `imprint` command keeps its data: --data DIR, else $IMPRINT_DATA, else the platform's
// application data directory (XDG on Linux), never the directory the command happened to start in.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DATA_HELP = 'data directory (default: $IMPRINT_DATA, else the platform application data directory)';

/** The per-user application data directory: XDG_DATA_HOME on Linux and BSDs, the native one elsewhere. */
export function platformDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA || join(homedir(), 'AppData', 'Roaming'), 'Imprint');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Imprint');
  const xdg = env.XDG_DATA_HOME?.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(xdg, 'imprint');
}

/** Versions before 0.2 kept their data in ./.data of the working directory. */
const LEGACY_DIR = '.data';
let legacyNoticeShown = false;

export function resolveDataDir(opts: { data?: string } = {}): string {
  const explicit = opts.data || process.env.IMPRINT_DATA;
  if (explicit) return resolve(explicit);
  const dir = platformDataDir();
  const legacy = resolve(LEGACY_DIR);
  if (!legacyNoticeShown && legacy !== dir && existsSync(legacy) && !existsSync(dir)) {
    legacyNoticeShown = true;
    console.error(
      `imprint: found ${legacy} from an earlier version; data now lives in ${dir}. ` +
        `To keep using the old folder, pass --data ${legacy} or set IMPRINT_DATA=${legacy} (or move it to ${dir}).`,
    );
  }
  return dir;
}
