// The unit tests `make check` runs: no root, no Incus, Caddy or Chromium, no build of dist/.
// Real folders, real stores and in-process servers on loopback only; well under a minute.
// (`make test` runs everything, with vitest.config.ts.) Four workers on two cores: most of the time
// is spent waiting (timers, child processes), not computing.
import { defineConfig } from 'vitest/config';
import { unitTests } from './test/unit-files.js';

export default defineConfig({
  test: {
    include: unitTests(),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Threads start faster than forked processes; none of these tests needs a process of its own.
    pool: 'threads',
    maxWorkers: 4,
  },
});
