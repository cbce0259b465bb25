import { defineConfig } from 'vitest/config';
import { otherTests } from './test/unit-files.js';

// `make test` has run the unit tests already (make check): it sets TIDEPOOL_SKIP_UNIT=1.
const skipUnit = Boolean(process.env.TIDEPOOL_SKIP_UNIT);

export default defineConfig({
  test: {
    include: skipUnit ? otherTests() : ['test/**/*.test.ts'],
    // Builds dist/ once: CLI and end-to-end tests run the real `tidepool` binary.
    globalSetup: ['test/global-setup.ts', 'test/cli/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real servers (Caddy, Incus, tidepool serve) on a 2-core machine: a few files at a time.
    maxWorkers: 2,
  },
});
