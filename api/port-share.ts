// The share link of a public Port: /workspace/{ws}/port/{n}/tp-share/{token}/. The token is
// never stored: it is an HMAC, under a key only the server holds (derived from the data
// directory's proxy secret), of the Port's uid and a salt kept in an annotation. Rotating
// writes a new salt, so the old token stops matching on the very next request; deleting and
// recreating a Port (a new uid) makes a new token too, and a token of one Port never matches
// another (another uid). Knowing the salt does not give the token. The proxy strips the token
// from the path and from the cookie before the request reaches the dev server, and the API
// never logs it (it arrives in headers that are not logged).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SHARE_COOKIE, SHARE_SEGMENT, keyOf, siblingKey, workspacePath, type Port } from '../specs/index.js';

export { SHARE_COOKIE, SHARE_SEGMENT };
/** The annotation whose value the token is derived from; rotating changes it. */
export const SHARE_SALT_ANNOTATION = 'tidepool/share-salt';

/** The key tokens are made with: from the proxy secret, else one of this process only (tests). */
export function shareKey(proxySecret: string | undefined): Buffer {
  const base = proxySecret ?? randomBytes(32).toString('hex');
  return createHash('sha256').update(`tidepool port share v1\n${base}`).digest();
}

export function shareToken(key: Buffer, port: Pick<Port, 'metadata'>): string {
  const salt = port.metadata.annotations?.[SHARE_SALT_ANNOTATION] ?? '';
  return createHmac('sha256', key)
    .update(`${port.metadata.uid ?? ''}\n${salt}`)
    .digest('base64url');
}

/** Whether `given` is this Port's current token (compared in constant time). */
export function shareTokenMatches(key: Buffer, port: Pick<Port, 'metadata'>, given: string | undefined): boolean {
  if (!given || !port.metadata.uid) return false;
  const want = Buffer.from(shareToken(key, port));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A new salt for the annotation: the next token has nothing to do with the last. */
export const newShareSalt = (): string => randomBytes(12).toString('base64url');

/** The Port's prefix on the preview server, with its trailing slash; `workspace` is its key (specs/object-key.ts). */
export const portPrefix = (workspace: string, port: number): string => `${workspacePath(workspace)}/port/${port}/`;

export const sharePath = (port: Pick<Port, 'spec' | 'metadata'>, token: string): string =>
  `${portPrefix(siblingKey(keyOf(port), port.spec.workspace), port.spec.port)}${SHARE_SEGMENT}/${token}/`;

/** The cookie that lets the rest of a visit through: this Port's path only, never to scripts. */
export function shareCookie(workspace: string, port: number, token: string, secure: boolean): string {
  return `${SHARE_COOKIE}=${token}; Path=${portPrefix(workspace, port)}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
