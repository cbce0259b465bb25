// Kubernetes-style Events: what the controller did or failed to do, about which object.
// Repeats of one event (same object, type, reason and note) bump `count` instead of
// adding objects, and are written at most once per aggregation window; each object gets
// a bucket of distinct events (a burst, then a trickle), so a flapping object cannot
// flood the store. Writes are batched: one store transaction per flush. Each
// workspace's events are also appended to <dataDir>/.logs/<workspace>/events.jsonl,
// rotated to events.jsonl.1 past `maxLogBytes` (so a log holds at most twice that), and
// removed with its workspace (and, at start, for workspaces that are gone).
import { randomBytes } from 'node:crypto';
import { appendFile as appendFileCallback, mkdir as mkdirCallback } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { activityLogDir, logsDir } from '../../store/paths.js';
import { timestamp, type StoreClient } from '../../store/index.js';
import { API_VERSION, DEFAULT_NAMESPACE, keyOf, splitKey, type Event } from '../../specs/index.js';
import type { Clock, Timer } from '../queue/index.js';
import type { Logger } from '../types.js';

export const REPORTING_CONTROLLER = 'tidepool-controller';

export interface Regarding {
  kind: string;
  /** The object's key (specs/object-key.ts): its name, after its namespace when that is not the default. */
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  store: StoreClient;
  clock: Clock;
  logger: Logger;
  /** Where `.logs/<workspace>/events.jsonl` goes. Defaults to none. */
  dataDir?: string;
  /** Repeats within this window only count in memory; the count is written when it ends. Defaults to 10 s. */
  aggregateWindowMs?: number;
  /** Distinct events an object may have at once before they are dropped. Defaults to 25. */
  burst?: number;
  /** One more distinct event per object is allowed each this long. Defaults to 10 s. */
  refillMs?: number;
  /** How long records are gathered into one store write. Defaults to 50 ms. */
  flushDelayMs?: number;
  /** A workspace's events.jsonl is rotated to events.jsonl.1 once it would pass this. Defaults to 1 MiB. */
  maxLogBytes?: number;
}

interface Series {
  event: Event;
  /** Workspace whose log gets it. */
  workspace?: string;
  lastWrittenAt: number;
  dirty: boolean;
}

const MAX_SERIES = 5000;
/** A workspace key (specs/object-key.ts): a name, or namespace/name. */
const LOG_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class EventRecorder {
  readonly #o: Required<Omit<EventRecorderOptions, 'dataDir'>> & { dataDir?: string };
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #timer: Timer | undefined;
  #timerAt = Infinity;
  #flushing: Promise<void> = Promise.resolve();
  readonly #madeDirs = new Set<string>();
  /** Size of each workspace's events.jsonl as far as this process wrote or read it. */
  readonly #logBytes = new Map<string, number>();
  #unwatch: (() => void) | undefined;
  /** Workspaces deleted while this process ran: events about them that come late are not logged. */
  readonly #deleted = new Set<string>();
  #closed = false;
  /** Distinct events dropped by the per-object limit. */
  dropped = 0;

  constructor(opts: EventRecorderOptions) {
    this.#o = {
      aggregateWindowMs: 10_000,
      burst: 25,
      refillMs: 10_000,
      flushDelayMs: 50,
      maxLogBytes: 2 ** 20,
      ...opts,
    };
    if (opts.dataDir) {
      const dataDir = opts.dataDir;
      this.#unwatch = opts.store.watch({ kind: 'Workspace' }, (ev) => {
        const name = keyOf(ev.object);
        if (ev.type === 'DELETED') {
          this.#deleted.add(name);
          if (this.#deleted.size > MAX_SERIES) this.#deleted.delete(this.#deleted.values().next().value!);
          this.#removeLog(dataDir, name);
        } else this.#deleted.delete(name);
      });
      this.#chain(() => this.#sweepLogs(dataDir));
    }
  }

  /** Runs `fn` after every write and removal before it (appends and removals never cross). */
  #chain(fn: () => Promise<void>): Promise<void> {
    this.#flushing = this.#flushing.then(fn).catch((err: Error) => {
      this.#o.logger.warn({ err: err.message }, 'events could not be written');
    });
    return this.#flushing;
  }

  #removeLog(dataDir: string, ws: string): void {
    if (!LOG_NAME.test(ws)) return;
    const dir = activityLogDir(logsDir(dataDir), ws);
    void this.#chain(async () => {
      this.#madeDirs.delete(dir);
      this.#logBytes.delete(ws);
      await rm(dir, { recursive: true, force: true });
    });
  }

  /** Logs of workspaces deleted while Tidepool was not running. */
  async #sweepLogs(dataDir: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(logsDir(dataDir));
    } catch {
      return;
    }
    for (const entry of names) {
      // `@NS`: the logs of namespace NS, one folder per workspace in it.
      const inNs = entry.startsWith('@') ? await readdir(join(logsDir(dataDir), entry)).catch(() => []) : undefined;
      for (const ws of inNs?.map((n) => `${entry.slice(1)}/${n}`) ?? [entry]) {
        if (LOG_NAME.test(ws) && !this.#o.store.get('Workspace', ws))
          await rm(activityLogDir(logsDir(dataDir), ws), { recursive: true, force: true });
      }
    }
  }

  /**
   * Records that something happened to `regarding`. `workspace` names the workspace log
   * it also goes to (defaults to `regarding.name` for a Workspace).
   */
  record(regarding: Regarding, type: EventType, reason: string, note: string, workspace?: string): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    const key = JSON.stringify([regarding.kind, regarding.name, regarding.uid ?? '', type, reason, note]);
    const s = this.#series.get(key);
    if (s) {
      s.event.count++;
      s.event.lastTimestamp = timestamp(now);
      s.dirty = true;
      this.#series.delete(key);
      this.#series.set(key, s);
      this.#schedule(Math.max(now + this.#o.flushDelayMs, s.lastWrittenAt + this.#o.aggregateWindowMs));
      return;
    }
    if (!this.#take(`${regarding.kind}/${regarding.name}`, now)) {
      this.dropped++;
      this.#o.logger.debug({ regarding, reason, note }, 'event dropped: too many distinct events for this object');
      return;
    }
    const ts = timestamp(now);
    // An Event lives in the namespace of the object it is about: its person sees it, no one else.
    const { namespace, name } = splitKey(regarding.name);
    const inNamespace = namespace === DEFAULT_NAMESPACE ? {} : { namespace };
    const event: Event = {
      apiVersion: API_VERSION,
      kind: 'Event',
      metadata: { name: eventName(name), ...inNamespace },
      regarding: { kind: regarding.kind, name, ...inNamespace, ...(regarding.uid ? { uid: regarding.uid } : {}) },
      reason,
      note,
      type,
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      reportingController: REPORTING_CONTROLLER,
    };
    const ws = workspace ?? (regarding.kind === 'Workspace' ? regarding.name : undefined);
    this.#series.set(key, { event, ...(ws ? { workspace: ws } : {}), lastWrittenAt: -Infinity, dirty: true });
    if (this.#series.size > MAX_SERIES) {
      const oldest = this.#series.keys().next().value!;
      this.#series.delete(oldest);
    }
    // A Warning event is something to look at: logged at warn, so a log filtered to warnings shows it.
    const level = type === 'Warning' ? 'warn' : 'info';
    this.#o.logger[level]({ regarding: `${regarding.kind}/${regarding.name}`, type, reason }, note);
    this.#schedule(now + this.#o.flushDelayMs);
  }

  /** Writes every recorded event now (ignoring the aggregation window). */
  flush(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Infinity;
    return this.#runFlush(true);
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    this.#unwatch?.();
    await this.#flushing;
  }

  #take(key: string, now: number): boolean {
    const b = this.#buckets.get(key) ?? { tokens: this.#o.burst, at: now };
    b.tokens = Math.min(this.#o.burst, b.tokens + (now - b.at) / this.#o.refillMs);
    b.at = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    if (this.#buckets.size > MAX_SERIES) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  #schedule(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      void this.#runFlush(false);
    }, at - this.#o.clock.now());
  }

  #runFlush(all: boolean): Promise<void> {
    return this.#chain(() => this.#write(all));
  }

  async #write(all: boolean): Promise<void> {
    const now = this.#o.clock.now();
    const due: Series[] = [];
    let next = Infinity;
    for (const s of this.#series.values()) {
      if (!s.dirty) continue;
      const at = s.lastWrittenAt + this.#o.aggregateWindowMs;
      if (all || at <= now) due.push(s);
      else next = Math.min(next, at);
    }
    if (next < Infinity) this.#schedule(next);
    if (!due.length) return;
    const snapshots = due.map((s) => {
      s.dirty = false;
      s.lastWrittenAt = now;
      return { event: structuredClone(s.event), workspace: s.workspace };
    });
    await this.#o.store.transaction((tx) => {
      for (const { event } of snapshots) {
        if (tx.get('Event', keyOf(event))) tx.update(event);
        else tx.create(event);
      }
    });
    if (this.#o.dataDir) await this.#appendLogs(this.#o.dataDir, snapshots);
  }

  async #appendLogs(dataDir: string, items: { event: Event; workspace?: string }[]): Promise<void> {
    const byWs = new Map<string, string[]>();
    for (const { event, workspace } of items) {
      // A workspace deleted since: its log went with it.
      if (!workspace || !LOG_NAME.test(workspace) || this.#deleted.has(workspace)) continue;
      const lines = byWs.get(workspace) ?? [];
      lines.push(JSON.stringify(event));
      byWs.set(workspace, lines);
    }
    await Promise.all(
      [...byWs].map(async ([ws, lines]) => {
        const dir = activityLogDir(logsDir(dataDir), ws);
        if (!this.#madeDirs.has(dir)) {
          // A directory made just now holds no log yet: nothing to stat.
          if ((await mkdir(dir, { recursive: true })) !== undefined) this.#logBytes.set(ws, 0);
          this.#madeDirs.add(dir);
        }
        const file = join(dir, 'events.jsonl');
        const text = `${lines.join('\n')}\n`;
        let size = this.#logBytes.get(ws);
        if (size === undefined)
          size = await stat(file).then(
            (st) => st.size,
            () => 0,
          );
        if (size > 0 && size + Buffer.byteLength(text) > this.#o.maxLogBytes) {
          await rename(file, `${file}.1`);
          size = 0;
        }
        await appendFile(file, text);
        this.#logBytes.set(ws, size + Buffer.byteLength(text));
      }),
    );
  }
}

// The callback forms: fs/promises' appendFile goes through a FileHandle per call, several times
// the main thread's CPU when a burst of creates appends to hundreds of logs at once.
const appendFile = promisify(appendFileCallback);
const mkdir = promisify(mkdirCallback);

/** `alice-1a2b3c4d5e6f`: unique, and a DNS label like every other name. */
function eventName(regardingName: string): string {
  const base = regardingName.slice(0, 46).replace(/-+$/, '') || 'event';
  return `${base}-${randomHex6()}`;
}

// Random bytes drawn a pool at a time: one call into the system's generator per 512 names,
// not one per event (a burst of creates records thousands).
const NAME_BYTES = 6;
let pool = Buffer.alloc(0);
let poolAt = 0;

function randomHex6(): string {
  if (poolAt + NAME_BYTES > pool.length) {
    pool = randomBytes(NAME_BYTES * 512);
    poolAt = 0;
  }
  poolAt += NAME_BYTES;
  return pool.toString('hex', poolAt - NAME_BYTES, poolAt);
}
