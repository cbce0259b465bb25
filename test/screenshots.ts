// Where a test saves the screenshot it took of what it checked: the README's own copy in docs/
// when TIDEPOOL_UPDATE_SCREENSHOTS=1 asks to refresh them, else a scratch folder, so that a test
// run (CI's included) leaves the checkout as it found it.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));

export function screenshotPath(file: string): string {
  if (process.env.TIDEPOOL_UPDATE_SCREENSHOTS === '1') return join(DOCS, file);
  const dir = join(tmpdir(), 'tidepool-screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, file);
}
