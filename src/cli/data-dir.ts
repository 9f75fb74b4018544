// Where every `imprint` command keeps its data: --data DIR, else $IMPRINT_DATA, else ./.data.
import { resolve } from 'node:path';

export const DATA_HELP = 'data directory (default: $IMPRINT_DATA, else ./.data)';

export function resolveDataDir(opts: { data?: string } = {}): string {
  return resolve(opts.data || process.env.IMPRINT_DATA || './.data');
}
