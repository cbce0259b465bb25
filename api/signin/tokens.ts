// Personal access tokens, for scripts and CI: `tp_<id>_<secret>`, shown once when made, kept
// as the hash of the whole token in <dataDir>/tokens.json with its name, owner and expiry. A
// token acts as the person who made it (their identity at that time, via 'token'). Revoking
// removes it from the map the gate reads, so the next request with it gets 401 at once.
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TokenInfo } from '../../specs/token.js';
import type { Identity } from '../identity.js';
import { newSecret, secretHash } from './hash.js';
import { SecretFile } from './secret-file.js';

interface StoredToken extends TokenInfo {
  hash: string;
  identity: Identity;
}

type TokenFile = { tokens: StoredToken[] };

export const tokensPath = (dataDir: string) => join(dataDir, 'tokens.json');

/** A token's name: what `tidepool token revoke NAME` types. */
export const TOKEN_NAME = /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/;

export class TokenStore {
  readonly #byHash = new Map<string, StoredToken>();

  private constructor(
    private readonly file: SecretFile<TokenFile> | undefined,
    tokens: StoredToken[],
  ) {
    for (const t of tokens) this.#byHash.set(t.hash, t);
  }

  static async open(path: string | undefined): Promise<TokenStore> {
    if (!path) return new TokenStore(undefined, []);
    const file = new SecretFile<TokenFile>(path, () => ({ tokens: [] }));
    return new TokenStore(file, (await file.read()).tokens ?? []);
  }

  /** Makes a token acting as `identity`; the secret is in the answer and nowhere else. */
  async create(
    identity: Identity,
    name: string,
    expiresAt: Date | undefined,
    now = new Date(),
  ): Promise<TokenInfo & { token: string }> {
    const id = randomBytes(6).toString('hex');
    const token = `tp_${id}_${newSecret()}`;
    const info: TokenInfo = {
      id,
      name,
      owner: identity.name,
      createdAt: now.toISOString(),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    };
    this.#byHash.set(secretHash(token), { ...info, hash: secretHash(token), identity: { ...identity, via: 'token' } });
    await this.#save();
    return { ...info, token };
  }

  /** The person a token acts as, or undefined (unknown, revoked or expired). */
  identityOf(token: string, now = Date.now()): Identity | undefined {
    const t = this.#byHash.get(secretHash(token));
    if (!t || (t.expiresAt && Date.parse(t.expiresAt) <= now)) return undefined;
    return t.identity;
  }

  /** The tokens of `owner` (every token for undefined), without their hashes. */
  list(owner?: string): TokenInfo[] {
    return [...this.#byHash.values()]
      .filter((t) => owner === undefined || t.owner === owner)
      .map(({ hash: _h, identity: _i, ...info }) => info)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Removes the token of `owner` with this name or id; false when there is none. */
  async revoke(owner: string, nameOrId: string): Promise<boolean> {
    const hit = [...this.#byHash].find(([, t]) => t.owner === owner && (t.name === nameOrId || t.id === nameOrId));
    if (!hit) return false;
    this.#byHash.delete(hit[0]);
    await this.#save();
    return true;
  }

  #save(): Promise<void> {
    return this.file ? this.file.write({ tokens: [...this.#byHash.values()] }) : Promise.resolve();
  }
}
