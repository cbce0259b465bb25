// The Incus driver's pure mapping, without Incus: an instance as Incus reports it → a VM, and
// the size and image-source formats Incus takes.
import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  isOfflineStub,
  mapState,
  parseBytes,
  sourceOf,
  vmOf,
  type Instance,
} from '../../drivers/runtime/incus/mapping.js';

const running: Instance = {
  name: 'alice-1a2b3c',
  status: 'Running',
  config: { 'limits.cpu': '2', 'limits.memory': '4GiB', 'user.tidepool.image': 'default' },
  state: {
    status: 'Running',
    network: {
      lo: { addresses: [{ family: 'inet', address: '127.0.0.1', scope: 'local' }] },
      eth1: { addresses: [{ family: 'inet', address: '10.9.0.3', scope: 'global' }] },
      eth0: {
        addresses: [
          { family: 'inet6', address: 'fd00::3', scope: 'global' },
          { family: 'inet', address: '10.77.0.12', scope: 'global' },
        ],
      },
    },
  },
};

describe('the Incus instance mapping', () => {
  it('a running instance: state, the IPv4 of eth0 first, limits and image template', () => {
    expect(vmOf(running, 'alice')).toEqual({
      name: 'alice',
      state: 'Running',
      ip: '10.77.0.12',
      image: 'default',
      cpu: 2,
      memoryBytes: 4 * 2 ** 30,
    });
  });

  it('no IP while stopped or before DHCP; frozen and error states say so', () => {
    expect(
      vmOf({ ...running, status: 'Stopped', state: { status: 'Stopped', network: running.state!.network } }, 'alice')
        .ip,
    ).toBeUndefined();
    expect(vmOf({ ...running, state: { status: 'Running', network: {} } }, 'alice').ip).toBeUndefined();
    expect(vmOf({ ...running, status: 'Frozen', state: { status: 'Frozen' } }, 'alice')).toMatchObject({
      state: 'Stopped',
      message: expect.stringContaining('frozen'),
    });
    expect(vmOf({ ...running, status: 'Error', state: null }, 'alice')).toMatchObject({
      state: 'Error',
      message: expect.stringContaining('Error'),
    });
    expect(mapState('Migrating')).toBe('Unknown');
  });

  it('limits Incus did not set or that are not sizes are left out', () => {
    const vm = vmOf({ ...running, config: { 'limits.cpu': '0-1', 'limits.memory': '50%' } }, 'alice');
    expect(vm.cpu).toBeUndefined();
    expect(vm.memoryBytes).toBeUndefined();
  });

  it('sizes both ways, and image sources by alias, fingerprint or remote server', () => {
    expect(formatBytes(512 * 2 ** 20)).toBe('512MiB');
    expect(formatBytes(4 * 2 ** 30)).toBe('4GiB');
    expect(formatBytes(1000)).toBe('1000B');
    expect(parseBytes('4GiB')).toBe(4 * 2 ** 30);
    expect(parseBytes('512MB')).toBe(512_000_000);
    expect(parseBytes('1073741824')).toBe(2 ** 30);
    expect(parseBytes('junk')).toBeUndefined();
    expect(sourceOf({ alias: 'tidepool-ide' })).toEqual({ type: 'image', alias: 'tidepool-ide' });
    expect(sourceOf({ alias: 'a'.repeat(64) })).toEqual({ type: 'image', fingerprint: 'a'.repeat(64) });
    expect(sourceOf({ alias: 'debian/12', server: 'https://images.example' })).toEqual({
      type: 'image',
      alias: 'debian/12',
      server: 'https://images.example',
      protocol: 'simplestreams',
    });
  });
});

describe('an instance on a cluster member', () => {
  it("carries its member as node; an offline member's stub (status Error, no config) is NodeUnreachable, a real Error is not", () => {
    expect(vmOf({ ...running, location: 'm2' }, 'alice').node).toBe('m2');
    expect(vmOf({ ...running, location: 'none' }, 'alice').node).toBeUndefined();
    const stub: Instance = { name: 'alice-1a2b3c', status: 'Error', location: 'm3', config: {} };
    expect(isOfflineStub(stub)).toBe(true);
    const vm = vmOf(stub, 'alice');
    expect(vm).toMatchObject({ state: 'Error', node: 'm3', nodeUnreachable: true });
    expect(vm.message).toMatch(/member m3 does not answer/);
    const broken: Instance = { ...running, status: 'Error', location: 'm3', state: { status: 'Error' } };
    expect(isOfflineStub(broken)).toBe(false);
    expect(vmOf(broken, 'alice').nodeUnreachable).toBeUndefined();
    expect(isOfflineStub({ name: 'x', status: 'Error', config: {} })).toBe(false);
  });
});
