import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Served } from '../cli/helpers.js';
import { requireOrSkip } from '../incus/helpers.js';
import { oneWorkspace, type OneWorkspace } from './one-workspace.js';

const run = await requireOrSkip('test/e2e/exec-frames');
let one: OneWorkspace | undefined;
let served: Served | undefined;
const auth = `Basic ${Buffer.from('e2e:frames-pw').toString('base64')}`;
const cli = (args: string[], input?: string) => one!.cli(args, input);

beforeAll(async () => {
  if (!run) return;
  one = await oneWorkspace('frames', 'fr', { user: 'e2e', password: 'frames-pw' });
  served = one.served;
}, 150_000);

afterAll(async () => {
  await one?.close();
});

/** What came back on a raw socket: the handshake's status line, the server's frames, whether it closed. */
interface Raw {
  socket: Socket;
  statusLine: string;
  /** Bytes after the handshake (the server's frames). */
  frames(): Buffer;
  closed: Promise<void>;
}

/** An exec WebSocket handshake on a raw TCP socket (`cat` as root: it waits on its stdin). */
function openRaw(address: string): Promise<Raw> {
  const { hostname, port } = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let headEnd = -1;
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        if (headEnd < 0) {
          clearTimeout(timer);
          reject(new Error('the socket closed before the handshake was answered (is serve still up?)'));
        }
        r();
      }),
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no handshake answer in 20 s'));
    }, 20_000);
    socket.on('error', () => undefined); // 'close' follows
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (headEnd >= 0) return;
      headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      clearTimeout(timer);
      resolve({
        socket,
        statusLine: buf.subarray(0, buf.indexOf('\r\n')).toString('latin1'),
        frames: () => buf.subarray(headEnd + 4),
        closed,
      });
    });
    socket.write(
      [
        'GET /api/v1/workspaces/fr/exec?command=cat&user=root HTTP/1.1',
        `Host: ${hostname}:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        `Authorization: ${auth}`,
        '',
        '',
      ].join('\r\n'),
    );
  });
}

/** The status code of the first close frame (opcode 8) among the server's unmasked frames. */
function closeCode(frames: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = frames[at]! & 0x0f;
    let len = frames[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      len = frames.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      len = Number(frames.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (opcode === 8) return len >= 2 ? frames.readUInt16BE(at + head) : undefined;
    at += head + len;
  }
  return undefined;
}

const MASK = Buffer.from([1, 2, 3, 4]);
const masked = (payload: Buffer) => Buffer.from(payload.map((b, i) => b ^ MASK[i % 4]!));
/** First byte: FIN + opcode (+ RSV bits); a masked frame of a small payload. */
const frame = (first: number, payload: Buffer) =>
  Buffer.concat([Buffer.from([first, 0x80 | payload.length]), MASK, masked(payload)]);

const STDIN = Buffer.from([0, ...Buffer.from('hi\n')]);
const BAD_FRAMES: { what: string; bytes: Buffer; code: number }[] = [
  {
    // Only the header: the length alone is over the limit.
    what: 'a binary frame of 2 MiB (the limit is 1 MiB)',
    bytes: Buffer.concat([Buffer.from([0x82, 0x80 | 127]), Buffer.from([0, 0, 0, 0, 0, 0x20, 0, 0]), MASK]),
    code: 1009,
  },
  { what: 'an unmasked client frame', bytes: Buffer.concat([Buffer.from([0x82, STDIN.length]), STDIN]), code: 1002 },
  { what: 'a reserved opcode (3)', bytes: frame(0x83, STDIN), code: 1002 },
  { what: 'RSV1 set without an extension', bytes: frame(0x80 | 0x40 | 0x02, STDIN), code: 1002 },
  { what: 'RSV2 and RSV3 set', bytes: frame(0x80 | 0x30 | 0x02, STDIN), code: 1002 },
];

describe.runIf(run)('exec WebSocket frames the protocol forbids', () => {
  for (const bad of BAD_FRAMES) {
    it(`${bad.what}: that socket closes with ${bad.code}, and serve keeps serving`, async () => {
      const raw = await openRaw(served!.address);
      try {
        expect(raw.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
        raw.socket.write(bad.bytes);
        await raw.closed;
        expect(closeCode(raw.frames())).toBe(bad.code);
      } finally {
        raw.socket.destroy();
      }
      expect(served!.proc.child.exitCode, `serve exited:\n${served!.proc.stderr}`).toBeNull();
      const health = await fetch(`${served!.address}/healthz`);
      expect(health.status).toBe(200);
      const r = await cli(['exec', 'fr', '--', 'echo', 'still-here']);
      expect(r.stdout).toBe('still-here\n');
      expect(r.code).toBe(0);
    }, 60_000);
  }
});
