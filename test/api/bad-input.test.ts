// Every bad request gets the right 4xx, a message that names the field or the line, and
// leaves the store file byte-for-byte as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, diskBytes, port, startTestServer, workspace, type TestServer } from './helpers.js';

let t: TestServer;
/** resourceVersions as they were before the later writes of the setup. */
let staleWs: string;

beforeAll(async () => {
  t = await startTestServer({ bodyLimit: 64 * 1024 });
  const base = [
    workspace('alice'),
    workspace('bob'),
    ...[1, 2, 3, 4, 5].map((i) => port(`alice-${i}`, 'alice', 3000 + i)),
    port('bob-3000', 'bob', 3000),
  ];
  const r = await t.req('POST', '/api/v1/apply?applyset=base', { body: base });
  expect(r.status).toBe(200);
  staleWs = (await t.req('GET', '/api/v1/workspaces/alice')).json.metadata.resourceVersion;
  const p = await t.req('PATCH', '/api/v1/workspaces/alice', {
    type: 'application/merge-patch+json',
    body: { spec: { running: false } },
  });
  expect(p.status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

interface Case {
  name: string;
  method?: string;
  path?: string;
  /** A string is sent as it is; anything else as JSON. A function gets the stale resourceVersion. */
  body?: unknown | (() => unknown);
  type?: string;
  auth?: string | null;
  headers?: Record<string, string>;
  status: number;
  reason?: string;
  /** Must match the message or the causes (the field, the line, ...). */
  mentions: RegExp;
}

const W = (over: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
  ...workspace('newbie', spec),
  ...over,
});
const WN = (name: unknown) => ({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: {} });
const P = (n: unknown, ws = 'carol', name = 'carol-p') => ({
  apiVersion: 'tidepool/v1',
  kind: 'Port',
  metadata: { name },
  spec: { workspace: ws, port: n },
});
const yamlWs = (name: string, extra = '') =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: ${name}\nspec: {}\n${extra}`;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const BOMB =
  'a: &a ["l","l","l","l","l","l","l","l","l"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n';

const cases: Case[] = [
  // malformed input
  {
    name: 'malformed JSON',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: '{"apiVersion": "tidepool/v1",\n  "kind": }',
    status: 400,
    mentions: /line 2, column 11/,
  },
  {
    name: 'truncated JSON',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: '{"apiVersion": "tidepool/v1"',
    status: 400,
    mentions: /line 1, column 29/,
  },
  { name: 'empty JSON body', method: 'POST', path: '/api/v1/workspaces', body: '', status: 400, mentions: /empty/ },
  {
    name: 'JSON with a trailing comma',
    method: 'PUT',
    path: '/api/v1/workspaces/alice',
    body: '{"spec": {},}',
    status: 400,
    mentions: /line 1, column 13/,
  },
  {
    name: 'malformed YAML (POST)',
    method: 'POST',
    path: '/api/v1/workspaces',
    type: 'application/yaml',
    body: 'kind: Workspace\nmetadata: {name: [x\n',
    status: 400,
    mentions: /line \d+, column \d+/,
  },
  {
    name: 'malformed YAML (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: `${yamlWs('y1')}---\nkind: "unterminated\n`,
    status: 400,
    mentions: /document 1 \(line 8/,
  },
  {
    name: 'tab indentation (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'text/yaml',
    body: 'kind: Workspace\nmetadata:\n\tname: x\n',
    status: 400,
    mentions: /line 3/,
  },
  {
    name: 'duplicate keys (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: d}\nspec: {}\nspec: {running: false}\n',
    status: 400,
    mentions: /DuplicateKey.*"line":5|line 5/,
  },
  {
    name: 'duplicate keys (POST, YAML)',
    method: 'POST',
    path: '/api/v1/workspaces',
    type: 'application/x-yaml',
    body: 'apiVersion: tidepool/v1\napiVersion: tidepool/v1\n',
    status: 400,
    mentions: /line 2/,
  },
  {
    name: 'alias bomb',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: BOMB,
    status: 400,
    mentions: /alias.*line 2, column 8|"line":2,"column":8/,
  },
  {
    name: 'JSON nested 100 deep',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: `{"apiVersion": "tidepool/v1", "kind": "Workspace", "metadata": {"name": "deep"},\n "spec": {"x": ${'['.repeat(100)}${']'.repeat(100)}}}`,
    status: 400,
    mentions: /more than 64 deep, at line 2, column 78/,
  },
  {
    name: 'merge patch nested 100 deep',
    method: 'PATCH',
    path: '/api/v1/workspaces/alice',
    type: 'application/merge-patch+json',
    body: `{"spec": ${'{"a": '.repeat(100)}1${'}'.repeat(100)}}`,
    status: 400,
    mentions: /more than 64 deep/,
  },
  {
    name: 'YAML nested 1000 deep (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: `${yamlWs('deep')}metadata2:\n  x: ${'['.repeat(1000)}${']'.repeat(1000)}\n`,
    status: 400,
    mentions: /NestingTooDeep.*"line":7,"column":70/,
  },
  {
    name: 'YAML compact sequences 1000 deep (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: `${'- '.repeat(1000)}x\n`,
    status: 400,
    mentions: /line 1, column 401/,
  },
  {
    name: 'JSON array to a POST',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: [WN('x')],
    status: 422,
    mentions: /expected an object/,
  },
  // wrong types
  {
    name: 'cpu as a string',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({}, { resources: { cpu: 'two' } }),
    status: 422,
    mentions: /spec\.resources\.cpu/,
  },
  {
    name: 'negative cpu',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({}, { resources: { cpu: -1 } }),
    status: 422,
    mentions: /spec\.resources\.cpu/,
  },
  {
    name: 'running as "yes"',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({}, { running: 'yes' }),
    status: 422,
    mentions: /spec\.running/,
  },
  {
    name: 'spec as a list',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { ...W(), spec: [1] },
    status: 422,
    mentions: /"field":"spec".*expected object/,
  },
  {
    name: 'memory not a quantity',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({}, { resources: { memory: 'lots' } }),
    status: 422,
    mentions: /spec\.resources\.memory/,
  },
  {
    name: 'memory too large',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({}, { resources: { memory: '2Ti' } }),
    status: 422,
    mentions: /spec\.resources\.memory/,
  },
  {
    name: 'unknown spec field',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({}, { colour: 'blue' }),
    status: 422,
    mentions: /spec\.colour/,
  },
  {
    name: 'unknown top-level field',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: W({ extra: 1 }),
    status: 422,
    mentions: /"field":"extra"/,
  },
  {
    name: 'label value a number',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { ...WN('lbl'), metadata: { name: 'lbl', labels: { team: 7 } } },
    status: 422,
    mentions: /metadata\.labels/,
  },
  {
    name: 'bad label key',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { ...WN('lbl'), metadata: { name: 'lbl', labels: { 'no spaces': 'x' } } },
    status: 422,
    mentions: /metadata\.labels/,
  },
  {
    name: 'finalizers not a list',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { ...WN('fz'), metadata: { name: 'fz', finalizers: 'x' } },
    status: 422,
    mentions: /metadata\.finalizers/,
  },
  // bad names
  {
    name: 'name ../x',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN('../x'),
    status: 422,
    mentions: /metadata\.name/,
  },
  {
    name: 'name A',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN('A'),
    status: 422,
    mentions: /metadata\.name/,
  },
  {
    name: 'name of 64 characters',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN('a'.repeat(64)),
    status: 422,
    mentions: /metadata\.name.*63|63.*metadata\.name/,
  },
  {
    name: 'empty name',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN(''),
    status: 422,
    mentions: /metadata\.name/,
  },
  {
    name: 'name ending in -',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN('x-'),
    status: 422,
    mentions: /metadata\.name/,
  },
  {
    name: 'name not a string',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN(12),
    status: 422,
    mentions: /metadata\.name/,
  },
  {
    name: 'missing metadata',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { apiVersion: 'tidepool/v1', kind: 'Workspace', spec: {} },
    status: 422,
    mentions: /metadata/,
  },
  {
    name: 'bad name (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: yamlWs('Bad/Name'),
    status: 422,
    mentions: /line 4, column 9\): metadata\.name/,
  },
  // ports
  { name: 'port 0', method: 'POST', path: '/api/v1/ports', body: P(0), status: 422, mentions: /spec\.port/ },
  { name: 'port 80', method: 'POST', path: '/api/v1/ports', body: P(80), status: 422, mentions: /spec\.port.*1024/ },
  { name: 'port 65536', method: 'POST', path: '/api/v1/ports', body: P(65536), status: 422, mentions: /spec\.port/ },
  { name: 'port 3000.5', method: 'POST', path: '/api/v1/ports', body: P(3000.5), status: 422, mentions: /spec\.port/ },
  {
    name: 'port as a string',
    method: 'POST',
    path: '/api/v1/ports',
    body: P('3000'),
    status: 422,
    mentions: /spec\.port/,
  },
  {
    name: 'port without workspace',
    method: 'POST',
    path: '/api/v1/ports',
    body: { ...P(3000), spec: { port: 3000 } },
    status: 422,
    mentions: /spec\.workspace/,
  },
  {
    name: 'a 6th port',
    method: 'POST',
    path: '/api/v1/ports',
    body: P(4000, 'alice', 'alice-6'),
    status: 422,
    mentions: /at most 5 Ports/,
  },
  {
    name: 'a 6th port (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    body: [P(4000, 'alice', 'alice-6')],
    status: 422,
    mentions: /document 0.*at most 5 Ports/,
  },
  {
    name: 'a duplicate port',
    method: 'POST',
    path: '/api/v1/ports',
    body: P(3000, 'bob', 'bob-again'),
    status: 422,
    mentions: /spec\.port.*3000/,
  },
  {
    name: 'a duplicate port moved by PATCH',
    method: 'PATCH',
    path: '/api/v1/ports/alice-1',
    type: 'application/merge-patch+json',
    body: { spec: { port: 3002 } },
    status: 422,
    mentions: /spec\.port/,
  },
  // kinds and versions
  {
    name: 'unknown kind (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: 'apiVersion: tidepool/v1\nkind: Gizmo\nmetadata: {name: g}\n',
    status: 422,
    mentions: /"field":"kind".*"line":2/,
  },
  {
    name: 'unknown apiVersion (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: yamlWs('v2').replace('tidepool/v1', 'tidepool/v2'),
    status: 422,
    mentions: /apiVersion.*line 1, column 13/,
  },
  {
    name: 'unknown apiVersion (POST)',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { ...WN('v'), apiVersion: 'v1' },
    status: 422,
    mentions: /apiVersion/,
  },
  {
    name: 'a server-written kind (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    body: { apiVersion: 'tidepool/v1', kind: 'Event', metadata: { name: 'e' } },
    status: 422,
    mentions: /"field":"kind"/,
  },
  {
    name: 'kind not matching the URL',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: P(3000),
    status: 400,
    mentions: /kind/,
  },
  {
    name: 'writing a server-written kind',
    method: 'POST',
    path: '/api/v1/events',
    body: {},
    status: 405,
    mentions: /POST.*events/,
  },
  // apply specifics
  {
    name: 'duplicate kind/name across documents',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: `${yamlWs('twin')}---\n${yamlWs('twin')}`,
    status: 422,
    mentions: /document 1 \(line 10, column 9\): metadata\.name/,
  },
  {
    name: 'one bad document among good ones',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: `${yamlWs('g1')}---\n${yamlWs('g2')}---\n${yamlWs('g3').replace('spec: {}', 'spec: {running: maybe}')}`,
    status: 422,
    mentions: /document 2.*spec\.running/,
  },
  {
    name: 'prune without applyset',
    method: 'POST',
    path: '/api/v1/apply?prune=true',
    body: [WN('z')],
    status: 400,
    mentions: /applyset/,
  },
  {
    name: 'dryRun with a bad value',
    method: 'POST',
    path: '/api/v1/apply?dryRun=maybe',
    body: [WN('z')],
    status: 400,
    mentions: /dryRun/,
  },
  {
    name: 'an empty apply that would prune everything',
    method: 'POST',
    path: '/api/v1/apply?applyset=base&prune=true',
    type: 'application/yaml',
    body: '---\n',
    status: 422,
    mentions: /allowEmptyPrune/,
  },
  // sizes
  {
    name: 'oversized body',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: { ...WN('big'), metadata: { name: 'big', annotations: { a: 'x'.repeat(100_000) } } },
    status: 413,
    reason: 'RequestEntityTooLarge',
    mentions: /too large/,
  },
  {
    name: 'oversized apply',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/yaml',
    body: `${yamlWs('big')}# ${'x'.repeat(100_000)}\n`,
    status: 413,
    reason: 'RequestEntityTooLarge',
    mentions: /too large/,
  },
  // optimistic concurrency
  {
    name: 'stale resourceVersion (PUT)',
    method: 'PUT',
    path: '/api/v1/workspaces/alice',
    body: () => workspace('alice', {}, { resourceVersion: staleWs }),
    status: 409,
    reason: 'Conflict',
    mentions: /workspaces "alice"/,
  },
  {
    name: 'stale resourceVersion (PATCH)',
    method: 'PATCH',
    path: '/api/v1/workspaces/alice',
    type: 'application/merge-patch+json',
    body: () => ({ metadata: { resourceVersion: staleWs }, spec: { running: true } }),
    status: 409,
    reason: 'Conflict',
    mentions: /alice/,
  },
  {
    name: 'stale resourceVersion (status)',
    method: 'PUT',
    path: '/api/v1/workspaces/alice/status',
    body: () => ({ metadata: { name: 'alice', resourceVersion: staleWs }, status: { phase: 'Running' } }),
    status: 409,
    reason: 'Conflict',
    mentions: /alice/,
  },
  {
    name: 'stale resourceVersion (DELETE)',
    method: 'DELETE',
    path: '/api/v1/workspaces/alice?resourceVersion=1',
    status: 409,
    reason: 'Conflict',
    mentions: /alice/,
  },
  {
    name: 'stale resourceVersion (apply)',
    method: 'POST',
    path: '/api/v1/apply',
    body: () => [{ ...workspace('alice'), metadata: { name: 'alice', resourceVersion: staleWs } }],
    status: 409,
    mentions: /document 0.*alice/,
  },
  {
    name: 'creating an existing name',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: workspace('alice'),
    status: 409,
    reason: 'AlreadyExists',
    mentions: /"alice" already exists/,
  },
  // auth
  { name: 'missing auth', method: 'GET', path: '/api/v1/workspaces', auth: null, status: 401, mentions: /basic auth/ },
  {
    name: 'missing auth on a write',
    method: 'POST',
    path: '/api/v1/workspaces',
    body: WN('sneaky'),
    auth: null,
    status: 401,
    mentions: /Unauthorized/,
  },
  {
    name: 'wrong password',
    method: 'POST',
    path: '/api/v1/apply',
    body: [WN('sneaky')],
    auth: basic('admin', `${PASSWORD}x`),
    status: 401,
    mentions: /password is wrong/,
  },
  {
    name: 'wrong user name',
    method: 'DELETE',
    path: '/api/v1/workspaces/alice',
    auth: basic('root', PASSWORD),
    status: 401,
    mentions: /Unauthorized/,
  },
  {
    name: 'not basic auth',
    method: 'GET',
    path: '/api/v1/workspaces',
    auth: 'Bearer abc',
    status: 401,
    mentions: /Unauthorized/,
  },
  // content types and methods
  {
    name: 'text/plain body',
    method: 'POST',
    path: '/api/v1/workspaces',
    type: 'text/plain',
    body: '{}',
    status: 415,
    mentions: /text\/plain/,
  },
  {
    name: 'YAML to a merge patch',
    method: 'PATCH',
    path: '/api/v1/workspaces/alice',
    type: 'application/yaml',
    body: 'spec: {}',
    status: 415,
    mentions: /application\/yaml/,
  },
  {
    name: 'JSON patch instead of merge patch',
    method: 'PATCH',
    path: '/api/v1/workspaces/alice',
    type: 'application/json-patch+json',
    body: [],
    status: 415,
    mentions: /json-patch/,
  },
  {
    name: 'form body to apply',
    method: 'POST',
    path: '/api/v1/apply',
    type: 'application/x-www-form-urlencoded',
    body: 'a=b',
    status: 415,
    mentions: /x-www-form-urlencoded/,
  },
  {
    name: 'merge patch that is not an object',
    method: 'PATCH',
    path: '/api/v1/workspaces/alice',
    type: 'application/merge-patch+json',
    body: [1],
    status: 400,
    mentions: /must be an object/,
  },
  {
    name: 'name mismatch (PUT)',
    method: 'PUT',
    path: '/api/v1/workspaces/alice',
    body: workspace('bob'),
    status: 400,
    mentions: /metadata\.name/,
  },
  {
    name: 'renaming by PATCH',
    method: 'PATCH',
    path: '/api/v1/workspaces/alice',
    type: 'application/merge-patch+json',
    body: { metadata: { name: 'eve' } },
    status: 400,
    mentions: /metadata\.name/,
  },
  {
    name: 'status with a bad condition',
    method: 'PUT',
    path: '/api/v1/workspaces/alice/status',
    body: {
      metadata: { name: 'alice' },
      status: {
        conditions: [
          { type: 'Ready', status: 'Maybe', reason: 'X', message: 'x', lastTransitionTime: '2024-01-01T00:00:00Z' },
        ],
      },
    },
    status: 422,
    mentions: /status\.conditions\[0\]\.status/,
  },
  {
    name: 'status with a bad timestamp',
    method: 'PUT',
    path: '/api/v1/workspaces/alice/status',
    body: { metadata: { name: 'alice' }, status: { lastStartedTime: 'yesterday' } },
    status: 422,
    mentions: /status\.lastStartedTime/,
  },
  {
    name: 'replacing a missing object',
    method: 'PUT',
    path: '/api/v1/workspaces/nobody',
    body: workspace('nobody'),
    status: 404,
    mentions: /"nobody" not found/,
  },
  {
    name: 'bad labelSelector',
    method: 'GET',
    path: '/api/v1/workspaces?labelSelector=team%20in%20web',
    status: 400,
    mentions: /labelSelector/,
  },
  {
    name: 'bad watch resourceVersion',
    method: 'GET',
    path: '/api/v1/workspaces?watch=true&resourceVersion=abc',
    status: 400,
    mentions: /resourceVersion/,
  },
  { name: 'unknown resource', method: 'GET', path: '/api/v1/gizmos', status: 404, mentions: /\/api\/v1\/gizmos/ },
];

describe('bad input', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await diskBytes(t.storeFile);
    const body = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
    const r = await t.req(c.method ?? 'GET', c.path ?? '/', {
      ...(body !== undefined ? { body } : {}),
      ...(c.type ? { type: c.type } : {}),
      ...(c.auth !== undefined ? { auth: c.auth } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
    });
    expect(r.status, r.text).toBe(c.status);
    expect(r.json, r.text).toMatchObject({ apiVersion: 'v1', kind: 'Status', status: 'Failure', code: c.status });
    if (c.reason) expect(r.json.reason).toBe(c.reason);
    expect(r.text).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // never a stack trace
    expect(`${r.json.message} ${JSON.stringify(r.json.details ?? {})}`).toMatch(c.mentions);
    if (c.status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="tidepool"/);
    const after = await diskBytes(t.storeFile);
    expect(after.equals(before), 'the store file changed').toBe(true);
  });
});
