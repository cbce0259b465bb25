// Commands inside an instance through Incus's exec API: POST .../exec with
// wait-for-websocket, then one websocket per stream of the operation (`0`, `1`, `2` and
// `control`, or `0` and `control` with a terminal). As Incus's own client does: data
// travels as binary messages, an empty text message ends a stream (our stdin's EOF, the
// command's end of output), the control socket carries window sizes and signals and must
// stay open until the command ends (closing it kills the command), and the exit code is
// the finished operation's `return`.
import { WebSocket } from 'undici';
import type { ExecRequest, ExecSession } from '../types.js';
import { RuntimeError } from '../types.js';
import type { IncusClient, Operation } from './client.js';
import { errorMessage } from '../../../specs/errors.js';
import { ExecOutput } from '../exec-output.js';

interface ExecOperation {
  id: string;
  metadata?: { fds?: Record<string, string> } | null;
}

type Stream = 'stdout' | 'stderr';

/** The sockets of one exec operation; without a terminal stdout and stderr have their own. */
interface ExecSockets {
  control: Socket;
  stdin: Socket;
  stdout: Socket | undefined;
  stderr: Socket | undefined;
}

export async function incusExec(client: IncusClient, execPath: string, req: ExecRequest): Promise<ExecSession> {
  const env = await client.raw('POST', execPath, {
    command: req.command,
    environment: req.env ?? {},
    'wait-for-websocket': true,
    interactive: req.tty,
    'record-output': false,
    ...(req.tty ? { width: req.width ?? 80, height: req.height ?? 24 } : {}),
    ...(req.uid !== undefined ? { user: req.uid } : {}),
    ...(req.gid !== undefined ? { group: req.gid } : {}),
    ...(req.cwd ? { cwd: req.cwd } : {}),
  });
  const op = env.metadata as ExecOperation | undefined;
  const fds = op?.metadata?.fds;
  const operation = env.operation;
  if (!operation || !fds?.control || !fds['0'])
    throw new RuntimeError(
      `Incus did not start the exec operation (${JSON.stringify(env).slice(0, 200)})`,
      'RuntimeError',
    );
  // A cluster member that forwarded the exec answers with "/1.0/operations/ID?project=default":
  // the websocket path goes before that query, not after it.
  const [opPath, opQuery] = operation.split('?');
  const open = (secret: string) =>
    connect(client, `${opPath}/websocket?secret=${encodeURIComponent(secret)}${opQuery ? `&${opQuery}` : ''}`);

  // Every socket is connected before output can be lost: Incus starts the command once all are.
  const [control, stdin, stdout, stderr] = await Promise.all([
    open(fds.control),
    open(fds['0']),
    fds['1'] ? open(fds['1']) : undefined,
    fds['2'] ? open(fds['2']) : undefined,
  ]);
  return new IncusExecSession(client, operation, { control, stdin, stdout, stderr });
}

class IncusExecSession implements ExecSession {
  readonly exitCode: Promise<number>;
  readonly #sockets: ExecSockets;
  #inputOpen = true;
  readonly #output = new ExecOutput();

  constructor(client: IncusClient, operation: string, sockets: ExecSockets) {
    this.#sockets = sockets;
    // With a terminal, output comes back on the stdin socket.
    const outputs = Promise.all([
      this.#drain(sockets.stdout ?? sockets.stdin, 'stdout'),
      this.#drain(sockets.stderr, 'stderr'),
    ]);
    this.exitCode = this.#exitCode(client, operation, outputs);
    this.exitCode.catch(() => undefined);
  }

  write(data: Uint8Array): void {
    const { stdin } = this.#sockets;
    if (this.#inputOpen && stdin.ws.readyState === WebSocket.OPEN) stdin.ws.send(data);
  }

  endInput(): void {
    if (!this.#inputOpen) return;
    this.#inputOpen = false;
    // The barrier ends stdin only: the socket stays open for a terminal's output.
    if (this.#sockets.stdin.ws.readyState === WebSocket.OPEN) this.#sockets.stdin.ws.send('');
  }

  resize(width: number, height: number): void {
    this.#sendControl({ command: 'window-resize', args: { width: String(width), height: String(height) } });
  }

  onOutput(cb: (stream: Stream, data: Uint8Array) => void): void {
    this.#output.listen(cb);
  }

  kill(): void {
    this.#sendControl({ command: 'signal', args: { signal: 9 } });
    // A command that ignores us must not keep sockets (and the process) alive.
    setTimeout(() => this.#closeAll(), 1000).unref();
  }

  async #exitCode(client: IncusClient, operation: string, outputs: Promise<unknown>): Promise<number> {
    let done: Operation | undefined;
    try {
      done = await client.wait(operation, 24 * 3600);
    } catch (err) {
      // Incus fails the operation instead of returning 127/126 when the command cannot be run;
      // a shell would have said 127 (not found) or 126 (not executable), and so do we.
      if (/command not found/i.test(errorMessage(err))) return 127;
      if (/permission denied/i.test(errorMessage(err))) return 126;
      throw err;
    }
    await Promise.race([outputs, new Promise((r) => setTimeout(r, 2000))]);
    this.#closeAll();
    const ret = (done?.metadata as { return?: number } | undefined)?.return;
    if (typeof ret === 'number') return ret;
    if (/command not found/i.test(done?.err ?? '')) return 127;
    if (/permission denied/i.test(done?.err ?? '')) return 126;
    throw new RuntimeError(`the exec operation ended without an exit code: ${done?.err ?? 'unknown'}`, 'RuntimeError');
  }

  /** Resolves when the stream's end barrier (an empty text message) arrives or the socket closes. */
  #drain(sock: Socket | undefined, stream: Stream): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!sock) return resolve();
      sock.onMessage((data) => {
        if (typeof data === 'string') {
          // The command's output ended. Incus finishes the operation only once we close this
          // socket too (its own client does the same); a terminal's socket is also our stdin.
          if (sock === this.#sockets.stdin && this.#inputOpen) {
            this.#inputOpen = false;
            sock.ws.send('');
          }
          sock.ws.close();
          return resolve();
        }
        this.#output.deliver(stream, new Uint8Array(data));
      });
      sock.onEnd(resolve);
    });
  }

  #sendControl(msg: unknown): void {
    const { control } = this.#sockets;
    if (control.ws.readyState === WebSocket.OPEN) control.ws.send(JSON.stringify(msg));
  }

  #closeAll(): void {
    const { control, stdin, stdout, stderr } = this.#sockets;
    for (const sock of [control, stdin, stdout, stderr]) sock?.ws.close();
  }
}

/** A socket whose messages are kept from the moment it opens until a reader takes them. */
interface Socket {
  ws: WebSocket;
  onMessage(cb: (data: ArrayBuffer | string) => void): void;
  onEnd(cb: () => void): void;
}

function connect(client: IncusClient, path: string): Promise<Socket> {
  const url = client.base.replace(/^http/, 'ws') + path;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { dispatcher: client.dispatcher });
    ws.binaryType = 'arraybuffer';
    // Incus starts the command once every socket is connected: output may come before a
    // reader is attached, and an event without a listener would be lost.
    const queue: (ArrayBuffer | string)[] = [];
    let reader: ((data: ArrayBuffer | string) => void) | undefined;
    let ended = false;
    let endReader: (() => void) | undefined;
    ws.onmessage = (ev) => {
      if (reader) reader(ev.data as ArrayBuffer | string);
      else queue.push(ev.data as ArrayBuffer | string);
    };
    ws.onclose = () => {
      ended = true;
      endReader?.();
    };
    ws.onopen = () =>
      resolve({
        ws,
        onMessage(cb) {
          reader = cb;
          for (const m of queue.splice(0)) cb(m);
        },
        onEnd(cb) {
          if (ended) cb();
          else endReader = cb;
        },
      });
    ws.onerror = (ev) => {
      if (ws.readyState === WebSocket.CONNECTING) {
        reject(
          new RuntimeError(
            `cannot open the exec websocket ${path.split('?')[0]}: ${(ev as { message?: string }).message ?? 'error'}`,
            'RuntimeError',
          ),
        );
      }
    };
  });
}
