// The home's size in the Incus driver's usage: what the storage driver tells, and where it
// cannot (btrfs without quotas, Tidepool's own pool), `du` inside the instance, kept for five
// minutes. A fake client answers the REST calls the way Incus does.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IncusUsage } from '../../drivers/runtime/incus/usage.js';
import type { IncusHomes } from '../../drivers/runtime/incus/homes.js';
import type { Instance } from '../../drivers/runtime/incus/mapping.js';
import { IncusScope } from '../../drivers/runtime/incus/scope.js';
import type { IncusClient } from '../../drivers/runtime/incus/client.js';

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

function fakeScope(volumeUsed: number | undefined) {
  const calls: Call[] = [];
  const client = {
    call: async (method: string, path: string, body?: unknown) => {
      calls.push({ method, path, body });
      if (path.endsWith('/state') && path.includes('/storage-pools/'))
        return volumeUsed === undefined ? { usage: null } : { usage: { used: volumeUsed } };
      if (path.endsWith('/exec')) return { return: 0, output: { '1': '/1.0/instances/ws-1/logs/exec-out' } };
      return undefined;
    },
    text: async (path: string) => {
      calls.push({ method: 'GET', path });
      return '8200\t/home/dev\n';
    },
  };
  const scope = new IncusScope(client as unknown as IncusClient, 'test-id', undefined);
  const homes = { volumeName: (ws: string) => `${ws}-home`, path: '/home/dev' };
  return { usage: new IncusUsage(scope, homes as unknown as IncusHomes), calls };
}

const running = (workspace: string): { instance: Instance; workspace: string } => ({
  workspace,
  instance: {
    name: `${workspace}-1`,
    status: 'Running',
    config: { 'limits.memory': '1GiB' },
    state: { status: 'Running' },
    expanded_devices: { home: { type: 'disk', pool: 'tidepool', source: `${workspace}-home`, path: '/home/dev' } },
  } as unknown as Instance,
});

afterEach(() => vi.useRealTimers());

describe('IncusUsage, the home', () => {
  it("takes the storage driver's figure when it has one, and runs nothing inside", async () => {
    const { usage, calls } = fakeScope(123_456);
    const [u] = await usage.of([running('ws')]);
    expect(u?.homeUsedBytes).toBe(123_456);
    expect(calls.some((c) => c.path.endsWith('/exec'))).toBe(false);
  });

  it('measures the home with du inside when the driver cannot tell, and keeps the figure five minutes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { usage, calls } = fakeScope(undefined);
    const [u] = await usage.of([running('ws')]);
    expect(u?.homeUsedBytes).toBe(8200 * 1024);
    const exec = calls.find((c) => c.path.endsWith('/exec'));
    expect(exec?.path).toBe('/1.0/instances/ws-1/exec');
    const argv = (exec!.body as { command: string[] }).command;
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv[2]).toContain('du -skx "$0"');
    expect(argv[3]).toBe('/home/dev');
    // The recorded output is read, then deleted.
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/1.0/instances/ws-1/logs/exec-out')).toBe(true);

    const before = calls.length;
    vi.setSystemTime(Date.now() + 4 * 60_000);
    expect((await usage.of([running('ws')]))[0]?.homeUsedBytes).toBe(8200 * 1024);
    expect(calls.length).toBe(before);
    vi.setSystemTime(Date.now() + 2 * 60_000);
    await usage.of([running('ws')]);
    expect(calls.filter((c) => c.path.endsWith('/exec'))).toHaveLength(2);
  });
});
