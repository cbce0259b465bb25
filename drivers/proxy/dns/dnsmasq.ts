// The route table's resolver: a supervised dnsmasq answering from one hosts file in a
// directory it watches (inotify), on 127.0.0.1:<port> over UDP, for Tidepool's zone only
// (NXDOMAIN for unknown names, REFUSED for every other zone, never forwarded). It must never
// hang: Caddy 2.6.2 holds one lock over its lookup cache while it asks (REFERENCE.md).
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Daemon, type Logger } from '../daemon.js';
import { PidFile } from '../pid-file.js';
import { ProxyError, type RouteTable } from '../types.js';
import { IDE_PORT } from '../../../specs/workspace.js';
import { errorMessage } from '../../../specs/errors.js';
import { ALIVE_NAME, ZONE, hostsFile, parseHostsFile, serialName } from './zone.js';

export interface DnsmasqOptions {
  /** The dnsmasq executable. Default "dnsmasq" (from PATH; Debian puts it in /usr/sbin). */
  binary?: string;
  /** Where the hosts directory, pid file and log go (inside Tidepool's 0700 data dir). */
  stateDir: string;
  /** The IDE port the workspace names stand for. Default 8080. */
  idePort?: number;
  logger: Logger;
  /** dnsmasq was started again after it died: its answers may differ from what was last applied. */
  onRestart(): void;
}

/**
 * A port on 127.0.0.1 free for both UDP and TCP (dnsmasq listens on both), below the kernel's
 * ephemeral range: a port from that range (what binding port 0 gives) may be any outgoing
 * connection's local port a moment later, and a host busy with connections (a burst of
 * requests through Caddy) then makes dnsmasq's bind fail. Falls back to an ephemeral one.
 */
export async function freeDnsPort(): Promise<number> {
  const low = await ephemeralLow();
  const from = 10_000;
  if (low - from > 1000) {
    for (let i = 0; i < 20; i++) {
      const port = from + Math.floor(Math.random() * (low - from));
      if ((await udpFree(port)) && (await tcpFree(port))) return port;
    }
  }
  return freeUdpPort();
}

async function ephemeralLow(): Promise<number> {
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  const low = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 0 ? low : 32768;
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free UDP port on 127.0.0.1 (bind 0, read it, close). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const FILE = 'routes';

function defaultBinary(): string {
  // Debian's dnsmasq-base installs to /usr/sbin, which a non-root PATH often lacks.
  return (
    ['/usr/sbin/dnsmasq', '/usr/local/sbin/dnsmasq', '/opt/homebrew/sbin/dnsmasq'].find((p) => existsSync(p)) ??
    'dnsmasq'
  );
}

export class Dnsmasq {
  readonly #o: DnsmasqOptions;
  readonly #binary: string;
  readonly #hostsDir: string;
  #port = 0;
  #daemon: Daemon | undefined;
  #serial = 0;
  readonly #stamp = Date.now().toString(36);

  constructor(o: DnsmasqOptions) {
    this.#o = o;
    this.#binary = o.binary ?? defaultBinary();
    this.#hostsDir = join(o.stateDir, 'hosts');
  }

  /** The UDP port it answers on (known after start). */
  get port(): number {
    return this.#port;
  }

  get pid(): number | undefined {
    return this.#daemon?.pid;
  }

  /** Whether it was found running (left by a previous Tidepool) rather than started. */
  get adopted(): boolean {
    return !!this.#daemon?.adopted;
  }

  get hostsPath(): string {
    return join(this.#hostsDir, FILE);
  }

  #args(port: number): string[] {
    return [
      '--keep-in-foreground',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--bind-interfaces',
      '--listen-address=127.0.0.1',
      `--port=${port}`,
      `--local=/${ZONE}/`,
      `--hostsdir=${this.#hostsDir}`,
      '--log-facility=-',
      // As root it would switch to "nobody", who cannot read the 0700 data dir.
      `--user=${userInfo().username}`,
      `--pid-file=${join(this.#o.stateDir, 'dnsmasq.own.pid')}`,
    ];
  }

  async start(): Promise<void> {
    await mkdir(this.#hostsDir, { recursive: true, mode: 0o700 });
    const pidFile = join(this.#o.stateDir, 'dnsmasq.pid');
    // Adopt a dnsmasq of this state dir left running; keep its port (Caddy's config names it).
    const left = await new PidFile(pidFile).leftRunning();
    const leftPort = left?.argv.find((a) => a.startsWith('--port='))?.slice('--port='.length);
    this.#port = leftPort && /^\d+$/.test(leftPort) ? Number(leftPort) : await freeDnsPort();
    const args = this.#args(this.#port);
    this.#daemon = new Daemon({
      name: 'dnsmasq',
      binary: this.#binary,
      args,
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      pidFile,
      logFile: join(this.#o.stateDir, 'dnsmasq.log'),
      accept: (argv) => argv.slice(1).join('\0') === args.join('\0'),
      probe: () => this.#answers(),
      beforeSpawn: async () => {
        // The first start has no file yet: dnsmasq must answer "unknown", not fail.
        const text = await readFile(this.hostsPath, 'utf8').catch(() => undefined);
        if (text === undefined) await this.#write(hostsFile({ workspaces: [], ports: [] }, this.#nextSerial()));
      },
      onRestart: this.#o.onRestart,
      logger: this.#o.logger,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#daemon.start();
        return;
      } catch (err) {
        // The port was taken between our probe and dnsmasq's bind: another try on another one.
        if (left || attempt >= 3 || !/Address already in use/.test(errorMessage(err))) throw err;
        this.#port = await freeDnsPort();
        args.splice(0, args.length, ...this.#args(this.#port));
      }
    }
  }

  #cached: { port: number; resolver: Resolver } | undefined;

  /** One resolver per port: a new one costs a channel set-up on every query. */
  #resolver(): Resolver {
    if (this.#cached?.port !== this.#port) {
      const resolver = new Resolver({ timeout: 250, tries: 2 });
      resolver.setServers([`127.0.0.1:${this.#port}`]);
      this.#cached = { port: this.#port, resolver };
    }
    return this.#cached.resolver;
  }

  /** Resolves once dnsmasq answers for the zone. */
  async #answers(): Promise<void> {
    await this.#resolver()
      .resolve4(ALIVE_NAME)
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTFOUND') throw err; // NXDOMAIN: it answers, the file is not read yet
      });
  }

  #nextSerial(): string {
    return `${this.#stamp}${(++this.#serial).toString(36)}`;
  }

  async #write(text: string): Promise<void> {
    // dnsmasq skips dotfiles: the new file is complete before it appears under its name.
    const tmp = join(this.#hostsDir, `.${FILE}.tmp`);
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, this.hostsPath);
  }

  /** What the hosts file holds (null: missing or not ours). */
  async read(): Promise<RouteTable | null> {
    const text = await readFile(this.hostsPath, 'utf8').catch(() => undefined);
    if (text === undefined) return null;
    const parsed = parseHostsFile(text, this.#o.idePort ?? IDE_PORT);
    if (!parsed) return null;
    // The file alone is not the truth: dnsmasq must be answering from it (not restarting, not stuck on an older one).
    if (!(await this.#serves(parsed.serial))) return null;
    return parsed.table;
  }

  async #serves(serial: string): Promise<boolean> {
    try {
      await this.#resolver().resolve4(serialName(serial));
      return true;
    } catch {
      return false;
    }
  }

  /** Writes `table` (normalized) and resolves once dnsmasq answers from it. */
  async write(table: RouteTable): Promise<void> {
    const serial = this.#nextSerial();
    await this.#write(hostsFile(table, serial));
    const deadline = Date.now() + 5_000;
    while (!(await this.#serves(serial))) {
      if (Date.now() > deadline) {
        throw new ProxyError(
          `dnsmasq (pid ${this.pid ?? 'none'}, port ${this.#port}) did not load ${this.hostsPath} within 5 s`,
          'ProxyUnavailable',
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  release(): void {
    this.#daemon?.release();
  }

  async stop(): Promise<void> {
    await this.#daemon?.stop();
  }
}
