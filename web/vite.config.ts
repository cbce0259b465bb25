// Builds the status UI into web/dist, served by `tidepool serve` at /app/.
// Build: `vite build web` from the repository root (root and outDir are relative to this file).
// Dev: `vite web` proxies /api to a running `tidepool serve` (TIDEPOOL_SERVER, default 127.0.0.1:7080).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/app/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': process.env.TIDEPOOL_SERVER ?? 'http://127.0.0.1:7080' },
  },
});
