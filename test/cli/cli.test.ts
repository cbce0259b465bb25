// The `tidepool` binary as a user runs it, against a real `tidepool serve` on loopback.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, Proc, ROOT, cleanEnv, closedPort, startServe, tp, type Served } from './helpers.js';

let served: Served;
let env: NodeJS.ProcessEnv;
let scratch: string;
const procs: Proc[] = [];

const run = (args: string[], extra: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
  tp(args, { env: extra.env ?? env, ...(extra.input !== undefined ? { input: extra.input } : {}) });
const lines = (s: string) => s.split('\n').filter(Boolean);
const names = async (args: string[]) => lines((await run([...args, '-o', 'name'])).stdout);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-'));
  const dataDir = join(scratch, 'data');
  // XDG_DATA_HOME keeps the default data directory away from the real home.
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base);
  procs.push(served.proc);
  // Credentials come from the data directory's credentials file, as for a local user.
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
});

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('tidepool serve', () => {
  it('is the executable that package.json names', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(join(ROOT, pkg.bin.tidepool!)).toBe(BIN);
    expect((await stat(BIN)).mode & 0o111).not.toBe(0);
  });

  it('generates credentials into the data directory, says where, and never logs the password', async () => {
    const file = join(served.dataDir, 'credentials.json');
    const creds = JSON.parse(await readFile(file, 'utf8')) as { username: string; password: string };
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(served.proc.stdout).toContain(file);
    expect(served.proc.stdout).not.toContain(creds.password);
    // JSON logs: every line is one JSON object.
    for (const l of lines(served.proc.stdout)) expect(() => JSON.parse(l)).not.toThrow();
  });
});

describe('apply', () => {
  it('creates the examples, then finds them unchanged', async () => {
    const first = await run(['apply', '-f', 'examples/']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(lines(first.stdout).sort()).toEqual([
      'port/alice-3000 created',
      'port/carol-8000 created',
      'workspace/alice created',
      'workspace/bob created',
      'workspace/carol created',
    ]);
    const again = await run(['apply', '-f', 'examples/']);
    expect(again.code).toBe(0);
    expect(lines(again.stdout).sort()).toEqual([
      'port/alice-3000 unchanged',
      'port/carol-8000 unchanged',
      'workspace/alice unchanged',
      'workspace/bob unchanged',
      'workspace/carol unchanged',
    ]);
  });

  it('--dry-run=server reports and writes nothing', async () => {
    const file = join(scratch, 'dry.yaml');
    await writeFile(
      file,
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: dry\nspec:\n  resources: {cpu: 1, memory: 512Mi}\n',
    );
    const r = await run(['apply', '-f', file, '--dry-run=server']);
    expect(r.stdout.trim()).toBe('workspace/dry created (server dry run)');
    expect(r.code).toBe(0);
    const get = await run(['get', 'workspace', 'dry']);
    expect(get.code).toBe(1);
    expect(get.stderr.trim()).toBe('Error from server (NotFound): workspaces "dry" not found');
  });

  it('reads stdin and JSON', async () => {
    const json = JSON.stringify({
      apiVersion: 'tidepool/v1',
      kind: 'Workspace',
      metadata: { name: 'from-stdin' },
      spec: { resources: { cpu: 1, memory: '512Mi' } },
    });
    const r = await run(['apply', '-f', '-'], { input: json });
    expect(r.stdout.trim()).toBe('workspace/from-stdin created');
    const del = await run(['delete', 'ws', 'from-stdin']);
    expect(del.stdout.trim()).toBe('workspace "from-stdin" deleted');
  });

  it('an invalid file: every problem at file:line:column with its field, nothing written, non-zero exit', async () => {
    const file = join(scratch, 'bad.yaml');
    await writeFile(
      file,
      [
        'apiVersion: tidepool/v1', //      1
        'kind: Workspace', //               2
        'metadata:', //                     3
        '  name: fine', //                  4
        '---', //                           5
        '# a port on a privileged number', // 6
        'apiVersion: tidepool/v1', //       7
        'kind: Port', //                    8
        'metadata:', //                     9
        '  name: fine-80', //               10
        'spec:', //                         11
        '  workspace: fine', //             12
        '  port: 80', //                    13
        '',
      ].join('\n'),
    );
    const r = await run(['apply', '-f', 'examples/workspace.yaml', '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toContain(
      `${file}:13:9: spec.port: Invalid value: 80: must be between 1024 and 65535, inclusive`,
    );
    expect(r.stderr).toMatch(/^Error from server \(Invalid\): 1 problem; nothing was applied:/);
    expect((await run(['get', 'ws', 'fine'])).code).toBe(1);
  });

  it('YAML that does not parse is reported at its line and column before anything is sent', async () => {
    const file = join(scratch, 'dup.yaml');
    await writeFile(file, 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: dup\n  name: dup2\n');
    const r = await run(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)[1]).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5:3: invalid YAML: Map keys must be unique`),
    );
  });

  it('--prune with --applyset deletes what left the files', async () => {
    const dir = join(scratch, 'set');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    const ws = (n: string) =>
      `apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: ${n}\nspec:\n  resources: {cpu: 1, memory: 512Mi}\n`;
    await writeFile(join(dir, 'p1.yaml'), ws('prune-one'));
    await writeFile(join(dir, 'p2.yaml'), ws('prune-two'));
    expect((await run(['apply', '-f', dir, '--prune', '--applyset', 'set1'])).code).toBe(0);
    await rm(join(dir, 'p2.yaml'));
    const r = await run(['apply', '-f', dir, '--prune', '--applyset', 'set1']);
    expect(lines(r.stdout)).toEqual(['workspace/prune-one unchanged', 'workspace/prune-two pruned']);
    expect((await run(['apply', '-f', dir, '--prune'])).stderr.trim()).toBe(
      'error: --prune requires --applyset NAME: the set of objects to prune from',
    );
    // An empty set prunes everything only when explicitly allowed.
    await rm(join(dir, 'p1.yaml'));
    const refused = await run(['apply', '-f', dir, '--prune', '--applyset', 'set1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error from server \(Invalid\): refusing to prune/);
    expect(refused.stderr).toContain('--allow-empty-prune');
    expect(await names(['get', 'ws', 'prune-one'])).toEqual(['workspace/prune-one']);
    const allowed = await run(['apply', '-f', dir, '--prune', '--applyset', 'set1', '--allow-empty-prune']);
    expect(lines(allowed.stdout)).toEqual(['workspace/prune-one pruned']);
  });
});

describe('get', () => {
  it('a table of workspaces', async () => {
    const r = await run(['get', 'workspaces']);
    expect(r.code).toBe(0);
    const rows = lines(r.stdout);
    expect(rows[0]).toMatch(/^NAME +PHASE +READY +IP +AGE$/);
    expect(rows.slice(1).map((l) => l.split(/ +/)[0])).toEqual(['alice', 'bob', 'carol']);
  });

  it('-o wide, and kinds by short name', async () => {
    const r = await run(['get', 'ws', '-o', 'wide']);
    const rows = lines(r.stdout);
    expect(rows[0]).toMatch(
      /^NAME +PHASE +READY +IP +AGE +IMAGE +CPU +MEMORY +RUNNING +URL +INSTANCE +NODE +ACCESSED +IDLE-TIMEOUT +ASLEEP$/,
    );
    const bob = rows.find((l) => l.startsWith('bob '))!.split(/ +/);
    expect(bob.slice(5, 9)).toEqual(['default', '1', '1Gi', 'true']);
    const ports = lines((await run(['get', 'port'])).stdout);
    expect(ports[0]).toMatch(/^NAME +WORKSPACE +PORT +READY +URL +AGE$/);
    expect(ports[1]).toMatch(/^alice-3000 +alice +3000 /);
  });

  it('-o json and -o yaml', async () => {
    const one = JSON.parse((await run(['get', 'workspace', 'alice', '-o', 'json'])).stdout);
    expect(one).toMatchObject({
      kind: 'Workspace',
      metadata: { name: 'alice' },
      spec: { resources: { cpu: 1, memory: '1Gi' } },
    });
    expect(one.metadata.uid).toBeTruthy();
    const list = parseYaml((await run(['get', 'ports', '-o', 'yaml'])).stdout);
    expect(list.kind).toBe('PortList');
    expect(list.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
      'alice-3000',
      'carol-8000',
    ]);
  });

  it('-o name, all, and -l', async () => {
    expect(await names(['get', 'all'])).toEqual([
      'workspace/alice',
      'workspace/bob',
      'workspace/carol',
      'port/alice-3000',
      'port/carol-8000',
    ]);
    expect(await names(['get', 'ws', '-l', 'team=web'])).toEqual(['workspace/bob', 'workspace/carol']);
    expect(await names(['get', 'ws', '-l', 'team=web,role!=lead'])).toEqual(['workspace/bob']);
    expect(await names(['get', 'ws/alice', 'port/carol-8000'])).toEqual(['workspace/alice', 'port/carol-8000']);
  });

  it('get all prints one table per kind', async () => {
    const out = (await run(['get', 'all'])).stdout;
    const [wsTable, portTable] = out.trim().split('\n\n');
    expect(lines(wsTable!)[1]).toMatch(/^workspace\/alice /);
    expect(lines(portTable!)[0]).toMatch(/^NAME +WORKSPACE +PORT/);
  });

  it('No resources found.', async () => {
    const r = await run(['get', 'ws', '-l', 'team=nobody']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('No resources found.');
  });

  it("events are listed (read-only kind): the controller's, about the examples", async () => {
    const r = await run(['get', 'events']);
    expect(r.code).toBe(0);
    const rows = lines(r.stdout);
    expect(rows[0]).toMatch(/^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$/);
    expect(rows.some((l) => /^\S+ +Normal +Created +workspace\/alice +Created the instance/.test(l))).toBe(true);
    const put = await run(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'tidepool/v1', kind: 'Event', metadata: { name: 'mine' } }),
    });
    expect(put.code).toBe(1);
    expect(put.stderr).toContain('kind: Unsupported value: "Event"');
  });

  it('-w prints the current rows, then each change', async () => {
    const w = new Proc(['get', 'ws', 'bob', '-w'], env);
    procs.push(w);
    await w.waitFor((out) => /^bob /m.test(out));
    expect((await run(['stop', 'bob'])).code).toBe(0);
    await w.waitFor((out) => (out.match(/^bob /gm) ?? []).length >= 2);
    await w.stop();
    const rows = lines(w.stdout);
    expect(rows[0]).toMatch(/^NAME +PHASE/);
    expect(rows.slice(1).every((l) => l.startsWith('bob '))).toBe(true);
    expect((await run(['start', 'bob'])).code).toBe(0);
  });
});

describe('describe', () => {
  it('a workspace: spec, status, conditions, events', async () => {
    const r = await run(['describe', 'workspace', 'alice']);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(lines(out)[0]).toBe('Name:         alice');
    expect(out).toMatch(/^Kind: +Workspace$/m);
    expect(out).toMatch(
      /^Spec:\n {2}Image: +default\n {2}Running: +true\n {2}Resources:\n {4}CPU: +1\n {4}Memory: +1Gi$/m,
    );
    expect(out).toMatch(/^Status:/m);
    expect(out).toMatch(/^Conditions:/m);
    expect(out).toMatch(/^Events:/m);
  });

  it('a port, by TYPE/NAME', async () => {
    const r = await run(['describe', 'port/alice-3000']);
    expect(r.stdout).toMatch(/^ {2}Workspace: +alice$/m);
    expect(r.stdout).toMatch(/^ {2}Port: +3000$/m);
  });
});

describe('diff', () => {
  it('exit 0 without changes, 1 with a unified diff once the server differs, 2 on error', async () => {
    const same = await run(['diff', '-f', 'examples/']);
    expect(same.stderr).toBe('');
    expect(same.stdout).toBe('');
    expect(same.code).toBe(0);

    expect((await run(['stop', 'bob'])).stdout.trim()).toBe('workspace/bob stopped');
    const changed = await run(['diff', '-f', 'examples/']);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('--- live/workspace/bob');
    expect(changed.stdout).toContain('+++ merged/workspace/bob');
    expect(lines(changed.stdout).filter((l) => /^[-+] /.test(l))).toEqual(['-  running: false', '+  running: true']);

    const missing = await run(['diff', '-f', join(scratch, 'nope.yaml')]);
    expect(missing.code).toBe(2);
  });

  it('a new object shows as all added', async () => {
    const file = join(scratch, 'new.yaml');
    await writeFile(
      file,
      'apiVersion: tidepool/v1\nkind: Port\nmetadata:\n  name: alice-4000\nspec:\n  workspace: alice\n  port: 4000\n',
    );
    const r = await run(['diff', '-f', file]);
    expect(r.code).toBe(1);
    const body = lines(r.stdout).filter((l) => !l.startsWith('---') && !l.startsWith('+++') && !l.startsWith('@@'));
    expect(body.length).toBeGreaterThan(5);
    expect(body.every((l) => l.startsWith('+'))).toBe(true);
    expect(body).toContain('+  port: 4000');
  });
});

describe('start and stop', () => {
  it('set spec.running', async () => {
    const running = async () => JSON.parse((await run(['get', 'ws', 'bob', '-o', 'json'])).stdout).spec.running;
    expect(await running()).toBe(false); // stopped by the diff test
    expect((await run(['start', 'bob'])).stdout.trim()).toBe('workspace/bob started');
    expect(await running()).toBe(true);
    expect((await run(['start', 'bob'])).stdout.trim()).toBe('workspace/bob started (no change)');
    expect((await run(['stop', 'bob'])).stdout.trim()).toBe('workspace/bob stopped');
    expect(await running()).toBe(false);
    expect((await run(['start', 'bob'])).code).toBe(0);
    const nope = await run(['stop', 'nope']);
    expect(nope.code).toBe(1);
    expect(nope.stderr.trim()).toBe('Error from server (NotFound): workspaces "nope" not found');
  });
});

describe('wait and delete', () => {
  it('wait --for=delete returns once another command deleted the object', async () => {
    const file = join(scratch, 'gone.yaml');
    await writeFile(
      file,
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: gone\nspec:\n  resources: {cpu: 1, memory: 512Mi}\n',
    );
    expect((await run(['apply', '-f', file])).code).toBe(0);
    const waiter = tp(['wait', 'workspace/gone', '--for=delete', '--timeout=60s'], { env, timeoutMs: 60_000 });
    // The waiter may start watching before or after the delete: either way it must see it.
    const del = await run(['delete', '-f', file]);
    expect(del.stdout.trim()).toBe('workspace "gone" deleted');
    const w = await waiter;
    expect(w.stderr).toBe('');
    expect(w.stdout.trim()).toBe('workspace/gone condition met');
    expect(w.code).toBe(0);
  });

  it("wait times out with kubectl's message", async () => {
    const r = await run(['wait', 'ws/alice', '--for=condition=NeverTrue', '--timeout=1s']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: timed out waiting for the condition on workspaces/alice');
  });

  it('delete --wait returns when the objects are gone; delete -f takes a Port before its Workspace', async () => {
    const r = await tp(['delete', '-f', 'examples/team.yaml', '--wait', '--timeout=60s'], { env, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual([
      'port "carol-8000" deleted',
      'workspace "bob" deleted',
      'workspace "carol" deleted',
    ]);
    expect(await names(['get', 'all'])).toEqual(['workspace/alice', 'port/alice-3000']);
    const again = await run(['delete', 'workspace', 'bob']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('Error from server (NotFound): workspaces "bob" not found');
    expect((await run(['delete', 'workspace', 'bob', '--ignore-not-found'])).code).toBe(0);
  });
});

describe('errors', () => {
  it('NotFound', async () => {
    const r = await run(['get', 'workspace', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server (NotFound): workspaces "x" not found');
  });

  it('an unknown resource type', async () => {
    const r = await run(['get', 'foo']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: the server doesn\'t have a resource type "foo"');
  });

  it('a wrong password', async () => {
    const r = await run(['get', 'ws'], { env: { ...env, TIDEPOOL_USER: 'admin', TIDEPOOL_PASSWORD: 'wrong' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: You must be logged in to the server \(Unauthorized\): .*TIDEPOOL_USER \/ TIDEPOOL_PASSWORD/,
    );
  });

  it('no credentials file where the data directory points', async () => {
    const elsewhere = join(scratch, 'elsewhere');
    const r = await run(['get', 'ws'], { env: { ...env, TIDEPOOL_DATA_DIR: elsewhere } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(Unauthorized)');
    expect(r.stderr).toContain(join(elsewhere, 'credentials.json'));
  });

  it('credentials are picked up from --data-dir, with nothing in the environment', async () => {
    const bare = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
    const r = await tp(['--server', served.address, 'get', 'ws', 'alice', '--data-dir', served.dataDir, '-o', 'name'], {
      env: bare,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('workspace/alice');
  });

  it('the server is not running', async () => {
    const port = await closedPort();
    const r = await run(['get', 'ws'], { env: { ...env, TIDEPOOL_SERVER: `http://127.0.0.1:${port}` } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `error: cannot reach the Tidepool server at http://127.0.0.1:${port}: connection refused (is "tidepool serve" running?)`,
    );
  });
});

describe('serve, start and stop', () => {
  it('refuses a store it cannot read, with a clear error, and leaves it untouched', async () => {
    const dir = await mkdtemp(join(scratch, 'broken-'));
    await writeFile(join(dir, 'store.json'), '{"format": "tidepool.store/v1", "objects": ');
    const r = await tp(['serve', '--data-dir', dir, '--listen', '127.0.0.1:0'], { env: cleanEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: store file .*store\.json cannot be read: .*left untouched/);
    expect(await readFile(join(dir, 'store.json'), 'utf8')).toBe('{"format": "tidepool.store/v1", "objects": ');
  });

  it('stops cleanly on SIGTERM, and keeps what was written', async () => {
    const dir = await mkdtemp(join(scratch, 'restart-'));
    const base = cleanEnv({ TIDEPOOL_USER: 'me', TIDEPOOL_PASSWORD: 'a-password-from-env' });
    const first = await startServe(dir, base);
    procs.push(first.proc);
    const e = { ...base, TIDEPOOL_SERVER: first.address };
    expect((await tp(['apply', '-f', 'examples/workspace.yaml'], { env: e })).code).toBe(0);
    expect(await first.proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(first.proc.stdout).not.toContain('a-password-from-env');

    const second = await startServe(dir, base);
    procs.push(second.proc);
    const r = await tp(['get', 'all', '-o', 'name'], { env: { ...e, TIDEPOOL_SERVER: second.address } });
    expect(lines(r.stdout)).toEqual(['workspace/alice', 'port/alice-3000']);
    expect(await second.proc.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });
});
