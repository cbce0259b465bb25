// Secrets handed to browsers and scripts (session ids, personal access tokens) are kept only as
// their SHA-256: the files under the data directory let nobody sign in. They are 32 random
// bytes, so a plain hash is enough (nothing to brute-force, unlike a password).
import { createHash, randomBytes } from 'node:crypto';

export const secretHash = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

/** A new secret: 32 random bytes, base64url (43 characters). */
export const newSecret = (): string => randomBytes(32).toString('base64url');
