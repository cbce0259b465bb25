// Prints the failed tests of a vitest JSON report (`make test` writes test-results/vitest.json),
// each with the first lines of its error, after everything else `make test` prints: a CI log is
// often read from its end, and the end is the cluster lab's teardown. Silent when nothing failed.
//   npx tsx test/failure-summary.ts test-results/vitest.json
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface Assertion {
  fullName: string;
  status: string;
  failureMessages?: string[];
}
interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults?: Assertion[];
}

const LINES_PER_FAILURE = 16;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences of a colored message
const COLORS = /\u001b\[[0-9;]*m/g;

const excerpt = (text: string) =>
  text
    .replace(COLORS, '')
    .split('\n')
    .filter((l) => l.trim() && !/node_modules|node:internal|at new Promise/.test(l))
    .slice(0, LINES_PER_FAILURE)
    .map((l) => `    ${l}`)
    .join('\n');

const path = process.argv[2] ?? 'test-results/vitest.json';
let files: FileResult[];
try {
  files = (JSON.parse(readFileSync(path, 'utf8')) as { testResults: FileResult[] }).testResults;
} catch (err) {
  console.error(`failure summary: no readable report at ${path} (${(err as Error).message})`);
  process.exit(0);
}
const failures: string[] = [];
for (const f of files) {
  const file = relative(process.cwd(), f.name);
  const failed = (f.assertionResults ?? []).filter((a) => a.status === 'failed');
  for (const a of failed) failures.push(`${file} > ${a.fullName}\n${excerpt((a.failureMessages ?? []).join('\n'))}`);
  // A file that failed outside its tests (a hook, an import): its own message.
  if (f.status === 'failed' && !failed.length) failures.push(`${file}\n${excerpt(f.message ?? 'failed')}`);
}
if (failures.length) {
  console.log(`\nmake test: ${failures.length} failure(s), the first lines of each:`);
  for (const f of failures) console.log(`  ${f}`);
}
