// The Incus client's operation waits against a fake Incus that answers as Incus 6.0 does
// (fake-incus-operations.ts): an operation that outlives one /wait is waited again, a failed one
// is a failure whatever code its /wait answered with, and only a reaped one is "gone".
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IncusClient } from '../../drivers/runtime/incus/client.js';
import { RuntimeError } from '../../drivers/runtime/types.js';
import { startFakeIncus, type FakeIncus } from './fake-incus-operations.js';

let dir: string;
let fake: FakeIncus;
let client: IncusClient;
let socketPath: string;
const clients: IncusClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-fake-incus-ops-'));
  socketPath = join(dir, 'unix.socket');
  fake = await startFakeIncus(socketPath);
  // One-second /wait slices: an operation of a few seconds outlives several of them.
  client = new IncusClient({ socketPath, waitSliceSeconds: 1 });
  clients.push(client);
});

/** A client whose one /wait outlasts any operation here, even on a loaded host: for cases about
 * what a single /wait answers, where a slice running out would be a different case. */
function unslicedClient(): IncusClient {
  const c = new IncusClient({ socketPath, waitSliceSeconds: 30 });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const rejection = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(RuntimeError);
  return err as RuntimeError;
};

describe('Incus operation waits (Incus 6.0 semantics)', () => {
  it('waits again when /wait answers 500 "context deadline exceeded" for an operation still running', async () => {
    fake.next({ runMs: 2500, outcome: { ok: true, metadata: { return: 0 } } });
    const meta = await client.call<{ return: number }>('POST', '/1.0/instances', {}, { waitSeconds: 30 });
    expect(meta).toEqual({ return: 0 });
    // It did outlive a slice: more than one /wait was needed.
    expect(fake.requests.filter((r) => r.includes('/wait?')).length).toBeGreaterThan(1);
  });

  it('reports a failure whose /wait answered 404 with the failure message (not "done")', async () => {
    const message =
      'Failed creating instance record: Failed initializing instance: Failed add validation for device "home": Failed loading custom volume: Storage volume not found';
    fake.next({ runMs: 100, outcome: { ok: false, code: 404, err: message } });
    const err = await rejection(unslicedClient().call('POST', '/1.0/instances', {}, { waitSeconds: 30 }));
    expect(err.reason).toBe('OperationFailed');
    expect(err.message).toBe(message);
  });

  it('reports a failure whose /wait answered 500 with the failure message', async () => {
    fake.next({ runMs: 50, outcome: { ok: false, code: 500, err: 'Image not provided for instance creation' } });
    const err = await rejection(unslicedClient().call('POST', '/1.0/instances', {}, { waitSeconds: 30 }));
    expect(err.reason).toBe('OperationFailed');
    expect(err.message).toBe('Image not provided for instance creation');
  });

  it('reports a failure that ends after several slices', async () => {
    fake.next({ runMs: 2200, outcome: { ok: false, code: 404, err: 'Storage volume not found' } });
    const err = await rejection(client.call('POST', '/1.0/instances', {}, { waitSeconds: 30 }));
    expect(err.message).toBe('Storage volume not found');
  });

  it('a failure reaped between its /wait and a look at its record is still a failure', async () => {
    fake.next({
      runMs: 100,
      outcome: { ok: false, code: 404, err: 'Storage volume not found' },
      reapRecordAtEnd: true,
    });
    const err = await rejection(unslicedClient().call('POST', '/1.0/instances', {}, { waitSeconds: 30 }));
    expect(err.reason).toBe('OperationFailed');
    expect(err.message).toBe('Storage volume not found');
  });

  it('an operation truly gone (reaped) is undefined, and the caller is asked to check the resource', async () => {
    fake.next({ runMs: 0, outcome: { ok: true }, reapAtEnd: true });
    let checked = 0;
    const meta = await client.call(
      'POST',
      '/1.0/instances',
      {},
      {
        waitSeconds: 30,
        ifGone: async () => {
          checked++;
        },
      },
    );
    expect(meta).toBeUndefined();
    expect(checked).toBe(1);

    fake.next({ runMs: 0, outcome: { ok: true }, reapAtEnd: true });
    const err = await rejection(
      client.call(
        'POST',
        '/1.0/instances',
        {},
        {
          waitSeconds: 30,
          ifGone: async () => {
            throw new RuntimeError('the instance is not there', 'OperationFailed');
          },
        },
      ),
    );
    expect(err.message).toBe('the instance is not there');
  });

  it('gives up with a Timeout naming the operation when its own deadline passes', async () => {
    fake.next({ runMs: 10_000, outcome: { ok: true } });
    const err = await rejection(client.call('POST', '/1.0/instances', {}, { waitSeconds: 2 }));
    expect(err.reason).toBe('Timeout');
    expect(err.message).toMatch(/operation \/1\.0\/operations\/op-1 still Running after 2s/);
  });
});
