// The bcrypt hash that goes into Caddy's basic-auth account. bcrypt salts every hash,
// so a fresh hash would make each built config differ from the live one and reload
// Caddy for nothing: a live hash that still matches the password is reused instead.
import bcrypt from 'bcryptjs';

export class PasswordHash {
  private own: Promise<string> | undefined;
  /** bcrypt.compare results by hash: compare costs tens of ms, reads happen often. */
  private readonly verdicts = new Map<string, Promise<boolean>>();

  constructor(private readonly password: string, private readonly cost = 10) {}

  /** The first of `candidates` that matches the password, else our own hash (made once). */
  async pick(candidates: string[]): Promise<string> {
    const match = await this.matching(candidates);
    if (match) return match;
    this.own ??= bcrypt.hash(this.password, this.cost);
    return this.own;
  }

  /** The first of `candidates` that matches the password, if any. */
  async matching(candidates: string[]): Promise<string | undefined> {
    for (const hash of candidates) {
      let verdict = this.verdicts.get(hash);
      if (!verdict) {
        verdict = bcrypt.compare(this.password, hash).catch(() => false);
        if (this.verdicts.size > 16) this.verdicts.clear();
        this.verdicts.set(hash, verdict);
      }
      if (await verdict) return hash;
    }
    return undefined;
  }
}
