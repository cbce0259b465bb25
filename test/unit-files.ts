// Which test files are unit tests: no root, no Incus, Caddy or Chromium, no build of dist/.
// `make check` runs them (vitest.unit.config.ts); `make test` runs them there and then all the
// others (vitest.config.ts with TIDEPOOL_SKIP_UNIT=1), so no test file runs twice in CI.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNIT_DIRS = ['test/store/', 'test/api/', 'test/controller/', 'test/gitops/', 'test/tart/'];
const UNIT_FILES = [
  'test/structure.test.ts',
  'test/web/elements.test.ts',
  'test/web/store.test.ts',
  'test/web/namespace-bar.test.ts',
  'test/web/manage-elements.test.ts',
  'test/web/port-visibility.test.ts',
  'test/web/sleep-elements.test.ts',
  'test/cli/format.test.ts',
  'test/cli/manifests.test.ts',
  'test/cli/printers.test.ts',
  'test/cli/log-format.test.ts',
  'test/cli/contexts-file.test.ts',
];
/**
 * In unit folders, but they need root (a tmpfs mount) or a real Caddy, or spend their time in
 * real processes and waits (kill -9, a fake `tart`, throttled logins, half-open sockets): they
 * run with the others, so that `make check` stays well under a minute.
 */
const NOT_UNIT = [
  'test/api/disk-full.test.ts',
  'test/api/proxy-auth.test.ts',
  'test/api/signin.test.ts',
  'test/api/durability.test.ts',
  'test/api/throttle.test.ts',
  'test/api/half-open.test.ts',
  'test/api/delete-wait.test.ts',
  'test/tart/tart.test.ts',
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function testFiles(dir = join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') ? [relative(ROOT, p)] : [];
  });
}

const isUnit = (f: string) =>
  !NOT_UNIT.includes(f) && (UNIT_FILES.includes(f) || UNIT_DIRS.some((d) => f.startsWith(d)));

export const unitTests = () => testFiles().filter(isUnit).sort();
export const otherTests = () =>
  testFiles()
    .filter((f) => !isUnit(f))
    .sort();
