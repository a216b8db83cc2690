/**
 * The dashboard build: `vite build --config ui/vite.config.ts` writes dist/ui/,
 * which the gateway serves at / (src/api/dashboard.ts) and the npm package ships.
 * `vite --config ui/vite.config.ts` runs it in development against a gateway on :8080.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const gateway = process.env.HEIMDALL_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(['/api', '/v1', '/anthropic', '/genai', '/health', '/metrics'].map((path) => [path, gateway])),
  },
});
