import { describe, expect, it } from 'vitest';
import { lookupKind } from '../../specs/index.js';
import type { ApiObject } from '../../cli/client.js';
import { normalize, merged, unifiedDiff } from '../../cli/commands/diff.js';
import { describeObject, eventsFor, titleCase } from '../../cli/commands/describe.js';
import { serverUrlForListen, resolveServer } from '../../cli/config.js';
import { CliError, ServerError, formatCause } from '../../cli/errors.js';
import { parseTargets } from '../../cli/kinds.js';
import { bundle } from '../../cli/manifests.js';
import { parseOutput, renderLines, sortObjects, tableOf } from '../../cli/printers.js';
import { errorLines } from '../../cli/report.js';
import { hasCondition, parseFor } from '../../cli/waiter.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const WS = lookupKind('workspace')!;
const PORT = lookupKind('port')!;
const EV = lookupKind('events')!;

function workspace(name: string, extra: Partial<ApiObject> = {}): ApiObject {
  return {
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: {
      name,
      uid: `uid-${name}`,
      generation: 1,
      resourceVersion: '7',
      creationTimestamp: '2026-03-01T11:57:00Z',
    },
    spec: { image: 'default', running: true, resources: { cpu: 1, memory: '512Mi' } },
    ...extra,
  };
}
const running = (name: string) =>
  workspace(name, {
    status: {
      phase: 'Running',
      ip: '10.1.0.5',
      url: `/workspace/${name}/`,
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Running',
          message: 'code-server answers',
          lastTransitionTime: '2026-03-01T11:59:00Z',
        },
      ],
    },
  });

describe('tables', () => {
  it('workspaces: NAME PHASE READY IP AGE, and missing status as Pending/Unknown/<none>', () => {
    const t = tableOf(WS, [running('alice'), workspace('bob')], { wide: false, now: NOW });
    expect(renderLines(t.header, t.rows, t.widths)).toEqual([
      'NAME    PHASE     READY     IP         AGE',
      'alice   Running   True      10.1.0.5   3m',
      'bob     Pending   Unknown   <none>     3m',
    ]);
  });

  it('workspaces -o wide adds IMAGE CPU MEMORY RUNNING URL INSTANCE NODE ACCESSED (last access) IDLE-TIMEOUT ASLEEP', () => {
    const alice = running('alice');
    alice.status = { ...alice.status, node: 'm2' };
    const t = tableOf(WS, [alice], { wide: true, now: NOW });
    expect(t.header).toEqual([
      'NAME',
      'PHASE',
      'READY',
      'IP',
      'AGE',
      'IMAGE',
      'CPU',
      'MEMORY',
      'RUNNING',
      'URL',
      'INSTANCE',
      'NODE',
      'ACCESSED',
      'IDLE-TIMEOUT',
      'ASLEEP',
    ]);
    expect(t.rows[0]).toEqual([
      'alice',
      'Running',
      'True',
      '10.1.0.5',
      '3m',
      'default',
      '1',
      '512Mi',
      'true',
      '/workspace/alice/',
      '<none>',
      'm2',
      '<none>',
      '<default>',
      '<none>',
    ]);
    const used = running('alice');
    used.status = { ...used.status, lastAccessTime: new Date(NOW - 120_000).toISOString(), instance: 'alice-1a2b3c' };
    expect(tableOf(WS, [used], { wide: true, now: NOW }).rows[0]!.at(-5)).toBe('alice-1a2b3c');
    expect(tableOf(WS, [used], { wide: true, now: NOW }).rows[0]!.at(-4)).toBe('<none>');
    expect(tableOf(WS, [used], { wide: true, now: NOW }).rows[0]!.at(-3)).toBe('2m');
    const asleep = running('alice');
    asleep.spec = { ...asleep.spec, idleTimeout: '30m' };
    asleep.status = {
      ...asleep.status,
      phase: 'Sleeping',
      sleep: { since: new Date(NOW - 600_000).toISOString(), reason: 'Idle' },
    };
    expect(tableOf(WS, [asleep], { wide: true, now: NOW }).rows[0]!.slice(-2)).toEqual(['30m', '10m (Idle)']);
  });

  it('ports: NAME WORKSPACE PORT READY URL AGE; get all prefixes the kind', () => {
    const p: ApiObject = {
      apiVersion: 'tidepool/v1',
      kind: 'Port',
      metadata: { name: 'alice-3000', creationTimestamp: '2026-02-26T12:00:00Z' },
      spec: { workspace: 'alice', port: 3000 },
    };
    const t = tableOf(PORT, [p], { wide: false, withKind: true, now: NOW });
    expect(t.header).toEqual(['NAME', 'WORKSPACE', 'PORT', 'READY', 'URL', 'AGE']);
    expect(t.rows[0]).toEqual(['port/alice-3000', 'alice', '3000', 'Unknown', '<none>', '3d']);
  });

  it('events: LAST SEEN TYPE REASON OBJECT MESSAGE, oldest first', () => {
    const ev = (name: string, last: string, reason: string): ApiObject => ({
      apiVersion: 'tidepool/v1',
      kind: 'Event',
      metadata: { name },
      regarding: { kind: 'Workspace', name: 'alice' },
      reason,
      note: `it ${reason}\nover two lines`,
      type: 'Normal',
      count: 1,
      firstTimestamp: last,
      lastTimestamp: last,
    });
    const items = sortObjects(EV, [
      ev('b', '2026-03-01T11:59:55Z', 'Started'),
      ev('a', '2026-03-01T11:00:00Z', 'Created'),
    ]);
    const t = tableOf(EV, items, { wide: false, now: NOW });
    expect(renderLines(t.header, t.rows, t.widths)).toEqual([
      'LAST SEEN   TYPE     REASON    OBJECT            MESSAGE',
      '60m         Normal   Created   workspace/alice   it Created over two lines',
      '5s          Normal   Started   workspace/alice   it Started over two lines',
    ]);
  });

  it('output formats', () => {
    expect(parseOutput(undefined)).toBe('table');
    expect(parseOutput('yaml')).toBe('yaml');
    expect(() => parseOutput('xml')).toThrow(CliError);
  });
});

describe('describe', () => {
  it('titles fields as kubectl does', () => {
    expect(titleCase('observedGeneration')).toBe('Observed Generation');
    expect(titleCase('ip')).toBe('IP');
    expect(titleCase('lastStartedTime')).toBe('Last Started Time');
  });

  it('shows metadata, spec, status, a conditions table and the events of this object only', () => {
    const o = running('alice');
    o.metadata.labels = { team: 'web', tier: 'a' };
    const mine: ApiObject = {
      apiVersion: 'tidepool/v1',
      kind: 'Event',
      metadata: { name: 'e1' },
      regarding: { kind: 'Workspace', name: 'alice', uid: 'uid-alice' },
      reason: 'Started',
      note: 'started the container',
      type: 'Normal',
      count: 1,
      lastTimestamp: '2026-03-01T11:59:00Z',
      reportingController: 'tidepool',
    };
    const other = { ...mine, metadata: { name: 'e2' }, regarding: { kind: 'Workspace', name: 'bob' } };
    const older = {
      ...mine,
      metadata: { name: 'e3' },
      regarding: { kind: 'Workspace', name: 'alice', uid: 'uid-of-an-older-alice' },
    };
    const events = eventsFor([mine, other, older], o);
    expect(events.map((e) => e.metadata.name)).toEqual(['e1']);
    const text = describeObject(WS, o, events, NOW);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Name:         alice');
    expect(lines[1]).toBe('Namespace:    default');
    expect(lines).toContain('Labels:       team=web');
    expect(lines).toContain('              tier=a');
    expect(lines).toContain('  Image:    default');
    expect(lines).toContain('    Memory:  512Mi');
    expect(lines).toContain('  IP:                   10.1.0.5');
    expect(text).toContain(
      [
        'Conditions:',
        '  Type    Status   Reason    Age   Message',
        '  Ready   True     Running   60s   code-server answers',
        'Events:',
        '  Type     Reason    Age   From       Message',
        '  Normal   Started   60s   tidepool   started the container',
      ].join('\n'),
    );
  });

  it('says <none> when there is no status and no event', () => {
    const text = describeObject(WS, workspace('bob'), [], NOW);
    expect(text).toContain('Status:       <none>');
    expect(text).toContain('Conditions:   <none>');
    expect(text).toContain('Events:       <none>');
  });
});

describe('diff', () => {
  const manifest = {
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name: 'alice', labels: { team: 'web' } },
    spec: { image: 'default', running: true, resources: { cpu: 1, memory: '512Mi' } },
  };

  it('compares only what apply writes, whatever the key order, keeping server annotations', () => {
    const live = workspace('alice', { status: { phase: 'Running' } });
    live.metadata.labels = { team: 'web' };
    live.metadata.annotations = { 'tidepool/applyset': 'examples' };
    live.spec = { resources: { memory: '512Mi', cpu: 1 }, running: true, image: 'default' };
    expect(merged(manifest, live)).toEqual(normalize(live));
  });

  it('a changed field is a one-line change in a unified diff', () => {
    const live = workspace('alice');
    live.metadata.labels = { team: 'web' };
    live.spec!.running = false;
    const patch = unifiedDiff(
      'workspace/alice',
      JSON.stringify(normalize(live), null, 1),
      JSON.stringify(merged(manifest, live), null, 1),
    );
    expect(patch).toContain('--- live/workspace/alice');
    expect(patch).toContain('+++ merged/workspace/alice');
    expect(patch.split('\n').filter((l) => /^[-+] /.test(l))).toEqual(['-  "running": false', '+  "running": true']);
  });
});

describe('arguments and configuration', () => {
  it('resource types by any name, lists, all, and TYPE/NAME', () => {
    expect(parseTargets(['ws'], { verb: 'get' })).toEqual([{ info: WS, names: [] }]);
    expect(parseTargets(['workspace', 'a', 'b'], { verb: 'get' })).toEqual([{ info: WS, names: ['a', 'b'] }]);
    expect(parseTargets(['all'], { verb: 'get', allowAll: true }).map((t) => t.info.kind)).toEqual([
      'Workspace',
      'Port',
    ]);
    expect(parseTargets(['workspaces,ports'], { verb: 'get' }).map((t) => t.info.kind)).toEqual(['Workspace', 'Port']);
    expect(parseTargets(['ws/a', 'port/p', 'workspaces/b'], { verb: 'get' })).toEqual([
      { info: WS, names: ['a', 'b'] },
      { info: PORT, names: ['p'] },
    ]);
    expect(() => parseTargets(['foo'], { verb: 'get' })).toThrow('the server doesn\'t have a resource type "foo"');
    expect(() => parseTargets([], { verb: 'get' })).toThrow(/you must specify the type of resource/);
    expect(() => parseTargets(['ws,ports', 'a'], { verb: 'get' })).toThrow(CliError);
  });

  it('the server URL: flag, env, else the listen address (wildcards reached on loopback)', () => {
    expect(resolveServer('example.test:9000', {})).toBe('http://example.test:9000');
    expect(resolveServer(undefined, { TIDEPOOL_SERVER: 'https://tp.example/' })).toBe('https://tp.example');
    expect(resolveServer(undefined, { TIDEPOOL_LISTEN: '0.0.0.0:7444' })).toBe('http://127.0.0.1:7444');
    expect(resolveServer(undefined, {})).toBe('http://127.0.0.1:7080');
    expect(serverUrlForListen('[::]:7080')).toBe('http://[::1]:7080');
    expect(() => resolveServer('ftp://x', {})).toThrow(CliError);
  });

  it('--for', () => {
    expect(parseFor('delete').deletion).toBe(true);
    const ready = parseFor('condition=Ready');
    expect(ready.check(running('a'))).toBe(true);
    expect(ready.check(workspace('a'))).toBe(false);
    expect(ready.check(undefined)).toBe(false);
    expect(parseFor('condition=Ready=false').check(running('a'))).toBe(false);
    expect(hasCondition('Ready', 'true')(running('a'))).toBe(true);
    expect(parseFor('jsonpath={.status.phase}=Running').check(running('a'))).toBe(true);
    expect(parseFor('jsonpath={.status.conditions[0].reason}=Running').check(running('a'))).toBe(true);
    expect(() => parseFor('ready')).toThrow(CliError);
    expect(() => parseFor(undefined)).toThrow(CliError);
  });
});

describe('errors as kubectl prints them', () => {
  const status = (code: number, reason: string, message: string, causes?: object[]) =>
    new ServerError(code, {
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code,
      reason,
      message,
      ...(causes ? { details: { causes: causes as never } } : {}),
    });

  it('NotFound and friends', () => {
    expect(errorLines(status(404, 'NotFound', 'workspaces "x" not found'))).toEqual([
      'Error from server (NotFound): workspaces "x" not found',
    ]);
  });

  it('Invalid apply: one line per cause, at its file, line and column', () => {
    const b = bundle([
      { name: 'ok.yaml', text: 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: a\n' },
      {
        name: 'bad.yaml',
        text: '# c\napiVersion: tidepool/v1\nkind: Port\nmetadata:\n  name: p\nspec:\n  workspace: a\n  port: 80\n',
      },
    ]);
    // bad.yaml's `port: 80` value is on body line 13 (a `---` precedes each document).
    expect(b.body.split('\n')[12]).toBe('  port: 80');
    const lines = errorLines(
      status(422, 'Invalid', 'apply is invalid', [
        {
          field: 'spec.port',
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 80: must be between 1024 and 65535, inclusive',
          document: 1,
          line: 13,
          column: 9,
        },
      ]),
      { bundle: b },
    );
    expect(lines).toEqual([
      'Error from server (Invalid): 1 problem; nothing was applied:',
      'bad.yaml:8:9: spec.port: Invalid value: 80: must be between 1024 and 65535, inclusive',
    ]);
  });

  it('401 says how to give credentials', () => {
    const config = { server: 'http://127.0.0.1:7080', dataDir: '/d', credentialsFile: '/d/credentials.json' };
    expect(
      errorLines(status(401, 'Unauthorized', 'no'), { config: { ...config, credentialsSource: 'none' } })[0],
    ).toMatch(
      /^error: You must be logged in to the server \(Unauthorized\): no credentials: there is no credentials file at \/d\/credentials.json/,
    );
    expect(
      errorLines(status(401, 'Unauthorized', 'no'), { config: { ...config, credentialsSource: 'file' } })[0],
    ).toContain('rejected the credentials in /d/credentials.json');
  });

  it('a cause without a place is just field: message', () => {
    expect(formatCause({ reason: 'R', field: 'spec.x', message: 'bad' })).toBe('spec.x: bad');
    expect(formatCause({ reason: 'R', message: 'bad', file: 'f.yaml', line: 2 })).toBe('f.yaml:2: bad');
  });
});
