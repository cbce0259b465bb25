// The CLI suites run the real binary, dist/cli/main.js. test/global-setup.ts builds dist/
// first; this one only checks that the binary is there and not older than the sources it is
// built from (say, a run with TIDEPOOL_SKIP_BUILD after an edit), and builds it if it is.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'dist', 'cli', 'main.js');
const SOURCES = ['cli', 'api', 'specs', 'controller'];

function newestTs(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestTs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup() {
  const sources = Math.max(...SOURCES.map((d) => newestTs(join(ROOT, d))));
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= sources && (statSync(BIN).mode & 0o111) !== 0) return;
  // Several suites (or several people's runs) may build at once: one at a time.
  const hasFlock = existsSync('/usr/bin/flock') || existsSync('/bin/flock');
  const [cmd, args] = hasFlock
    ? (['flock', ['/tmp/tp-build.lock', 'npm', 'run', '--silent', 'build']] as const)
    : (['npm', ['run', '--silent', 'build']] as const);
  execFileSync(cmd, [...args], { cwd: ROOT, stdio: 'inherit' });
}
