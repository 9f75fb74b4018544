// Vite build of the renderer into renderer/dist (relative asset paths so Electron can load it
// from file:// and web mode can serve it from /).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Keep everything in files: the CSP allows no inline script or style.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});
