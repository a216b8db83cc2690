import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The conformance suite: real clients (installed in conformance/node_modules by
// scripts/conformance.mjs) against the gateway and the mock upstream.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['conformance/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
