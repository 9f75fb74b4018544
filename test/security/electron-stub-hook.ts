// Import first: from then on `electron` resolves to electron-stub.ts (no Electron binary can run
// here), so electron/ code loaded with dynamic imports afterwards gets the recorder.
import { register } from 'node:module';

export const STUB_URL = new URL('./electron-stub.ts', import.meta.url).href;

register(
  `data:text/javascript,${encodeURIComponent(
    `export async function resolve(s, c, next) { return s === 'electron' ? { url: ${JSON.stringify(STUB_URL)}, shortCircuit: true } : next(s, c); }`,
  )}`,
);

// Loaded once through the normal (tsx) path, so later `electron` imports find it ready.
await import(STUB_URL);
