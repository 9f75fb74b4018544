// `npm run build:ui` builds the React UI into renderer/dist, so `imprint start` needs no build tool at
// run time. `prepare` runs it with --if-possible: an install without dev dependencies (no Vite) skips it.
import { ensureRendererBuilt } from '../src/api/renderer-build.ts';

const ifPossible = process.argv.includes('--if-possible');
const vite = await import('vite').catch(() => undefined);
if (!vite && ifPossible) {
  console.log('imprint: UI build skipped (Vite is a dev dependency and is not installed)');
} else {
  await ensureRendererBuilt({ force: !ifPossible, log: (l) => console.log(l) });
  console.log('imprint: UI built in renderer/dist');
}
