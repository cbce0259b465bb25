// Browser sessions after a sign-in: the cookie holds a random id, the store its hash, the
// person and an expiry. Kept in <dataDir>/sessions.json, so an IDE that is open (and a page
// loaded later) keeps working across a restart of `tidepool serve`. Reading is a map lookup
// (every request through the proxy asks); only sign-in and sign-out write.
import { join } from 'node:path';
import type { Identity } from '../identity.js';
import { newSecret, secretHash } from './hash.js';
import { SecretFile } from './secret-file.js';

/** Default lifetime of a session. */
export const SESSION_TTL_MS = 12 * 3600_000;

interface StoredSession {
  identity: Identity;
  /** ms since the epoch. */
  expiresAt: number;
}

type SessionFile = { sessions: Record<string, StoredSession> };

export const sessionsPath = (dataDir: string) => join(dataDir, 'sessions.json');

export class SessionStore {
  readonly #sessions: Map<string, StoredSession>;

  private constructor(
    private readonly file: SecretFile<SessionFile> | undefined,
    sessions: Record<string, StoredSession>,
    readonly ttlMs: number,
  ) {
    this.#sessions = new Map(Object.entries(sessions));
  }

  /** The sessions of `path` (none yet when it does not exist); without a path, kept in memory only. */
  static async open(path: string | undefined, ttlMs = SESSION_TTL_MS): Promise<SessionStore> {
    if (!path) return new SessionStore(undefined, {}, ttlMs);
    const file = new SecretFile<SessionFile>(path, () => ({ sessions: {} }));
    const now = Date.now();
    const live = Object.entries((await file.read()).sessions ?? {}).filter(([, s]) => s.expiresAt > now);
    return new SessionStore(file, Object.fromEntries(live), ttlMs);
  }

  /** Starts a session for `identity`: resolves to the id for the cookie once it is on disk. */
  async create(identity: Identity, now = Date.now()): Promise<{ id: string; expiresAt: number }> {
    const id = newSecret();
    const expiresAt = now + this.ttlMs;
    this.#prune(now);
    this.#sessions.set(secretHash(id), { identity: { ...identity, via: 'session' }, expiresAt });
    await this.#save();
    return { id, expiresAt };
  }

  /** The person of a live session, or undefined (unknown, ended or expired). */
  identityOf(id: string | undefined, now = Date.now()): Identity | undefined {
    if (!id) return undefined;
    const s = this.#sessions.get(secretHash(id));
    return s && s.expiresAt > now ? s.identity : undefined;
  }

  /** Ends a session (sign-out); an unknown id is no error. */
  async end(id: string | undefined): Promise<void> {
    if (!id || !this.#sessions.delete(secretHash(id))) return;
    await this.#save();
  }

  get size(): number {
    return this.#sessions.size;
  }

  #prune(now: number): void {
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k);
  }

  #save(): Promise<void> {
    return this.file ? this.file.write({ sessions: Object.fromEntries(this.#sessions) }) : Promise.resolve();
  }
}
