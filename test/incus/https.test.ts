// The Incus driver over HTTPS with a client certificate (how it talks to a remote Incus or a
// cluster member), against the local Incus listening on loopback for the length of the test.
// The test trusts a throwaway client certificate and removes it again; it sets
// core.https_address to 127.0.0.1:<free port> only when Incus has no HTTPS listener, and unsets it after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { execa } from 'execa';
import { createIncusRuntime, type IncusRuntime } from '../../drivers/runtime/incus/index.js';
import { RuntimeError } from '../../drivers/runtime/types.js';
import { PROFILE, deleteByTidepoolId, httpGet, requireOrSkip, runId, until } from './helpers.js';

const run = await requireOrSkip('test/incus/https');
const ID = runId('t-incus-https');
const incus = (...args: string[]) => execa('incus', args, { stdin: 'ignore' });
let dir = '';
let url = '';
let setAddress = false;
let trustFingerprint = '';
const drivers: IncusRuntime[] = [];

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  if (!run) return;
  dir = mkdtempSync(join(tmpdir(), 'tp-incus-https-'));
  await selfSignedCert(`/CN=${ID}`, join(dir, 'client.key'), join(dir, 'client.crt'));
  trustFingerprint = new X509Certificate(readFileSync(join(dir, 'client.crt'))).fingerprint256
    .replace(/:/g, '')
    .toLowerCase();
  await incus('config', 'trust', 'add-certificate', join(dir, 'client.crt'), '--name', ID);
  const { stdout } = await incus('config', 'get', 'core.https_address');
  let address = stdout.trim();
  if (!address) {
    address = `127.0.0.1:${await freePort()}`;
    await incus('config', 'set', 'core.https_address', address);
    setAddress = true;
  }
  const m = /^(?:\[?(.*?)\]?)?:(\d+)$/.exec(address);
  const host = !m?.[1] || m[1] === '0.0.0.0' || m[1] === '::' ? '127.0.0.1' : m[1];
  url = `https://${host.includes(':') ? `[${host}]` : host}:${m?.[2] ?? '8443'}`;
}, 60_000);

afterAll(async () => {
  for (const d of drivers) await d.close?.();
  if (!run) return;
  await deleteByTidepoolId(ID);
  if (trustFingerprint)
    await execa('incus', ['config', 'trust', 'remove', trustFingerprint], { stdin: 'ignore', reject: false });
  if (setAddress) await execa('incus', ['config', 'unset', 'core.https_address'], { stdin: 'ignore', reject: false });
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** A throwaway self-signed EC certificate (one day) and its key, as an Incus client uses. */
async function selfSignedCert(subject: string, keyFile: string, certFile: string): Promise<void> {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  await execa('openssl', [...args, '-subj', subject, '-keyout', keyFile, '-out', certFile], { stdin: 'ignore' });
}

describe.skipIf(!run)('Incus runtime driver over HTTPS with a client certificate', () => {
  it('lists, creates, reports events and deletes through the HTTPS endpoint', async () => {
    const d = createIncusRuntime({
      tidepoolId: ID,
      url,
      profile: PROFILE,
      cert: readFileSync(join(dir, 'client.crt')),
      key: readFileSync(join(dir, 'client.key')),
      serverCert: readFileSync('/var/lib/incus/server.crt'),
    });
    drivers.push(d);
    expect(await d.list()).toEqual([]);
    const seen: string[] = [];
    const unsubscribe = d.subscribe!((n) => seen.push(n));
    await d.create({ name: 'remote', image: 'minimal', cpu: 1, memoryBytes: 128 * 2 ** 20, start: true });
    const vm = await until('an IP', async () => (await d.list()).find((v) => v.name === 'remote' && v.ip));
    expect((await until('HTTP', async () => httpGet(vm.ip!)))?.body).toContain('Tidepool workspace remote');
    await until('an event over wss', async () => (seen.includes('remote') ? true : undefined), 10_000, 20);
    unsubscribe();
    await d.delete('remote');
    expect(await d.list()).toEqual([]);
  }, 60_000);

  it("an untrusted client certificate gets Incus's refusal as a RuntimeError", async () => {
    const other = mkdtempSync(join(tmpdir(), 'tp-incus-untrusted-'));
    try {
      await selfSignedCert('/CN=untrusted', join(other, 'k'), join(other, 'c'));
      const d = createIncusRuntime({
        tidepoolId: ID,
        url,
        cert: readFileSync(join(other, 'c')),
        key: readFileSync(join(other, 'k')),
        serverCert: readFileSync('/var/lib/incus/server.crt'),
      });
      drivers.push(d);
      const err = await d
        .create({ name: 'nope', image: 'minimal', cpu: 1, memoryBytes: 2 ** 27, start: false })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe(403);
      expect((err as RuntimeError).reason).toBe('Forbidden');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('a server certificate that does not match is refused', async () => {
    const d = createIncusRuntime({
      tidepoolId: ID,
      url,
      cert: readFileSync(join(dir, 'client.crt')),
      key: readFileSync(join(dir, 'client.key')),
      serverCert: readFileSync(join(dir, 'client.crt')), // not the server's
    });
    drivers.push(d);
    await expect(d.list()).rejects.toMatchObject({ reason: 'RuntimeUnavailable' });
  });
});
