// The cookies of sign-in, read from a request and written on answers. Behind Tidepool's Caddy
// the browser's Cookie header never reaches the API (or any IDE or Port): Caddy copies the two
// cookies Tidepool reads into headers of its own (SESSION_HEADER, SIGNIN_HEADER), believed only
// with the proxy's secret. Reached directly (no proxy), the API reads the Cookie header.
import type { IncomingHttpHeaders } from 'node:http';

export const SESSION_COOKIE = 'tp_session';
/** Binds a sign-in in progress to the browser that started it (its state), for the callback. */
export const SIGNIN_COOKIE = 'tp_signin';
export const SESSION_HEADER = 'x-tidepool-session';
export const SIGNIN_HEADER = 'x-tidepool-signin';

/** A cookie's value from a Cookie header; the first when there are several. */
export function cookieOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      const raw = part.slice(i + 1).trim();
      // Ours are base64url; a value that is not even URL-encoding is no session (not a 500).
      try {
        return decodeURIComponent(raw) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The value of `cookie`, from Caddy's header when the request is Caddy's, else from Cookie. */
export function credentialCookie(
  headers: IncomingHttpHeaders,
  fromProxy: boolean,
  cookie: string,
  header: string,
): string | undefined {
  const viaProxy = headers[header];
  if (fromProxy && typeof viaProxy === 'string' && viaProxy) return viaProxy;
  return cookieOf(headers, cookie);
}

/** A Set-Cookie value: HttpOnly, SameSite=Lax, Secure on https. `maxAgeS` 0 clears it. */
export function setCookie(name: string, value: string, o: { maxAgeS: number; secure: boolean; path?: string }): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${o.path ?? '/'}`,
    `Max-Age=${o.maxAgeS}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(o.secure ? ['Secure'] : []),
  ].join('; ');
}
