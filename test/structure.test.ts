// The rooms and which way imports point (README, "How it is built"): specs ← store ←
// {api, controller, gitops} ← server ← cli; drivers depend only on specs; the controller knows
// the drivers only by their contracts; the UI only shares specs. A new import that breaks a rule
// fails here, naming the file and the import.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROOMS = ['specs', 'store', 'api', 'controller', 'drivers', 'gitops', 'server', 'cli', 'web/src'] as const;

/** Rooms each room may import from (besides itself); a string with a slash allows only that file or folder. */
const ALLOWED: Record<string, readonly string[]> = {
  specs: [],
  store: ['specs'],
  drivers: ['specs'],
  api: ['specs', 'store'],
  controller: ['specs', 'store', 'drivers/runtime/types.ts', 'drivers/proxy/types.ts', 'drivers/errors.ts'],
  // The syncs run on the controller's queue and clock, and log like it.
  gitops: ['specs', 'store', 'controller/queue/', 'controller/types.ts'],
  server: ['specs', 'store', 'api', 'controller', 'drivers', 'gitops'],
  cli: ['specs', 'server'],
  web: ['specs'],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const roomOf = (path: string) => (path.startsWith('web/') ? 'web' : path.split('/')[0]!);

/** Every relative import of the source rooms: [importing file, imported file], both from the root. */
function imports(): [string, string][] {
  const out: [string, string][] = [];
  for (const room of ROOMS) {
    for (const file of tsFiles(join(ROOT, room))) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = relative(ROOT, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
        out.push([relative(ROOT, file), target]);
      }
    }
  }
  return out;
}

describe('the rooms and the direction of imports', () => {
  const all = imports();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(500);
  });

  for (const [room, allowed] of Object.entries(ALLOWED)) {
    it(`${room}/ imports only from ${allowed.length ? allowed.join(', ') : 'itself'}`, () => {
      const wrong = all
        .filter(([from, to]) => roomOf(from) === room && roomOf(to) !== room)
        .filter(([, to]) => !allowed.some((a) => (a.includes('/') ? to === a || to.startsWith(a) : roomOf(to) === a)))
        .map(([from, to]) => `${from} imports ${to}`);
      expect(wrong).toEqual([]);
    });
  }
});
