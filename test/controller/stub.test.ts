import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryProxy } from '../../drivers/proxy/memory/index.js';
import { RuntimeError } from '../../drivers/runtime/types.js';
import { createStubRuntime, type StubRuntime } from '../../drivers/runtime/stub/index.js';
import { httpProbe } from '../../controller/index.js';
import { harness, workspace, type Harness } from './helpers.js';

function get(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path: '/hello', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const GiB = 2 ** 30;

describe('stub runtime', () => {
  let rt: StubRuntime | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await rt?.close();
    await h?.close();
    rt = h = undefined;
  });

  it('keeps VMs in memory with loopback addresses 127.77.x.y and the runtime contract', async () => {
    rt = createStubRuntime();
    await rt.create({ name: 'a', image: 'default', cpu: 2, memoryBytes: GiB, start: true });
    await rt.create({ name: 'b', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    const [a, b] = await rt.list();
    expect(a).toMatchObject({ name: 'a', state: 'Running', cpu: 2, memoryBytes: GiB });
    expect(a!.ip).toMatch(/^127\.77\.\d+\.\d+$/);
    expect(b).toMatchObject({ name: 'b', state: 'Stopped' });
    expect(b!.ip).toBeUndefined();
    await expect(
      rt.create({ name: 'a', image: 'default', cpu: 1, memoryBytes: GiB, start: false }),
    ).rejects.toBeInstanceOf(RuntimeError);
    await rt.start('a');
    await rt.stop('b');
    expect(await rt.get!('a')).toMatchObject({ name: 'a', state: 'Running', ip: a!.ip });
    expect(await rt.get!('missing')).toBeUndefined();
    await rt.delete('missing');
    await expect(rt.start('missing')).rejects.toMatchObject({ reason: 'NotFound' });
    expect(rt.calls).toEqual({
      list: 1,
      get: 2,
      create: 3,
      start: 2,
      stop: 1,
      delete: 1,
      update: 0,
      exec: 0,
      home: 0,
      buildImage: 0,
    });
  });

  it('fails the next N calls of an operation, and through the failNext hook', async () => {
    rt = createStubRuntime({ failNext: (op, name) => (op === 'delete' && name === 'keep' ? 'refused' : undefined) });
    rt.fail('list', 2, 'boom');
    await expect(rt.list()).rejects.toThrow('boom');
    await expect(rt.list()).rejects.toThrow('boom');
    await expect(rt.list()).resolves.toEqual([]);
    await expect(rt.delete('keep')).rejects.toThrow('refused');
  });

  it('tells subscribers about changes made behind its back', async () => {
    rt = createStubRuntime();
    const seen: string[] = [];
    rt.subscribe!((n) => seen.push(n));
    await rt.create({ name: 'a', image: 'default', cpu: 1, memoryBytes: GiB, start: true });
    await rt.stopBehindBack('a');
    await rt.startBehindBack('a');
    await rt.deleteBehindBack('a');
    await rt.createBehindBack(
      { name: 'b', image: 'default', cpu: 1, memoryBytes: GiB, start: true },
      { notify: false },
    );
    expect(seen).toEqual(['a', 'a', 'a']);
  });

  it('serves a real IDE on ip:8080 with ideServers, which the default HTTP probe sees', async () => {
    rt = createStubRuntime({ ideServers: true });
    await rt.create({ name: 'ide', image: 'default', cpu: 1, memoryBytes: GiB, start: true });
    const ip = (await rt.list())[0]!.ip!;
    expect(await get(ip, 8080)).toContain('stub IDE of workspace ide');
    const probe = httpProbe(500);
    expect(await probe(ip, 8080)).toBe(true);
    await rt.stop('ide');
    expect(await probe(ip, 8080)).toBe(false);
  });

  it('a controller with the default probe brings a workspace with a real IDE server to Ready', async () => {
    h = await harness({ ideServers: true });
    await h.start({ probe: undefined });
    await h.store.create(workspace('real'));
    const ws = await h.ready('real');
    expect(await get(ws.status!.ip!, 8080)).toContain('real');
  });
});

describe('memory proxy', () => {
  it('converges the whole table, reads it back sorted, counts calls and allows drift', async () => {
    const p = createMemoryProxy();
    expect(await p.read()).toBeNull();
    await p.apply({
      workspaces: [
        { name: 'b', upstream: '127.0.0.1:1' },
        { name: 'a', upstream: '127.0.0.1:2' },
      ],
      ports: [{ workspace: 'a', port: 3000, upstream: '127.0.0.1:3000' }],
    });
    expect((await p.read())!.workspaces.map((w) => w.name)).toEqual(['a', 'b']);
    p.removeRoute('a');
    expect(p.table()).toEqual({ workspaces: [{ name: 'b', upstream: '127.0.0.1:1' }], ports: [] });
    let told = 0;
    p.subscribe!(() => told++);
    p.reset();
    expect(p.table()).toBeNull();
    expect(told).toBe(1);
    p.fail('apply', 1, 'nope');
    await expect(p.apply({ workspaces: [], ports: [] })).rejects.toThrow('nope');
    expect(p.calls).toEqual({ read: 2, apply: 2 });
  });
});
