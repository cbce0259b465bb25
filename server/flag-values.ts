// The parsers of serve flag values: each turns the text typed into a setting, or throws a
// ServeError whose message names the flag and says what it takes.
import { parseListen } from '../api/config.js';
import { parseDuration } from '../specs/duration.js';
import { errorMessage } from '../specs/errors.js';
import { parseQuantity } from '../specs/quantity.js';
import { GIT_REF_PATTERN, GIT_URL_PATTERN } from '../specs/index.js';
import { ServeError } from './errors.js';

/** Paths, URLs, names, as typed; empty says nothing. */
export const text = (value: string): string | undefined => value || undefined;

/** As typed, empty included (the setting's reader checks it). */
export const exact = (value: string): string => value;

/** One of `allowed`; empty says nothing. */
export const oneOf =
  <const T extends string>(allowed: readonly T[]) =>
  (value: string, flag: string): T | undefined => {
    if (!value) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new ServeError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  };

/** A positive duration as --timeout takes it (`30s`, `1m30s`, `250ms`, plain seconds), in ms. */
export function positiveDuration(value: string, flag: string): number {
  const ms = parseDuration(value);
  if (!(ms !== undefined && ms > 0))
    throw new ServeError(`${flag} must be a positive duration such as 30s, 5m or 1h, got "${value}"`);
  return ms;
}

/** An idle timeout: a duration, or 0 for never, in ms. */
export function idleDuration(value: string, flag: string): number {
  const ms = value.trim() === '0' ? 0 : parseDuration(value);
  if (ms === undefined || ms < 0)
    throw new ServeError(`${flag} must be a duration such as 30m or 1h, or 0 for never, got "${value}"`);
  return ms;
}

export const positiveNumber =
  (integer: boolean) =>
  (value: string, flag: string): number => {
    const n = Number(value);
    if (!(n > 0) || (integer && !Number.isInteger(n)))
      throw new ServeError(`${flag} must be a positive ${integer ? 'whole ' : ''}number, got "${value}"`);
    return n;
  };

/** Bytes, from a quantity such as 16Gi. */
export function memoryQuantity(value: string, flag: string): number {
  const bytes = parseQuantity(value);
  if (!(bytes !== undefined && bytes > 0))
    throw new ServeError(`${flag} must be a quantity such as 16Gi or 8192Mi, got "${value}"`);
  return bytes;
}

/** host:port of the API; empty says nothing. */
export function apiListen(value: string): string | undefined {
  if (!value) return undefined;
  try {
    parseListen(value);
  } catch (err) {
    throw new ServeError(errorMessage(err));
  }
  return value;
}

/** `8081` → `:8081` (every interface); `127.0.0.1:8081` stays. */
export function proxyListen(value: string, flag: string): string {
  const listen = /^\d+$/.test(value) ? `:${value}` : value;
  try {
    const { port } = parseListen(listen);
    if (port === 0) throw new Error('port 0');
  } catch {
    throw new ServeError(`${flag} must be a port or host:port (1..65535), got "${value}"`);
  }
  return listen;
}

export function httpUrl(value: string, flag: string): string {
  if (!/^https?:\/\/[^/]+/.test(value)) throw new ServeError(`${flag} must be an http(s) URL, got "${value}"`);
  return value;
}

/** `--dotfiles URL[#REF]`: the dotfiles of every new workspace that names none of its own. */
export function dotfilesFlag(value: string, flag: string): { url: string; ref?: string } {
  const i = value.lastIndexOf('#');
  const url = i > 0 ? value.slice(0, i) : value;
  const ref = i > 0 ? value.slice(i + 1) : undefined;
  if (!new RegExp(GIT_URL_PATTERN).test(url))
    throw new ServeError(
      `${flag} must be a git URL (https://, http://, git://, ssh://, file:// or user@host:path), got "${url}"`,
    );
  if (ref !== undefined && !new RegExp(GIT_REF_PATTERN).test(ref))
    throw new ServeError(`${flag}: "#${ref}" is not a branch, tag or commit`);
  return { url, ...(ref ? { ref } : {}) };
}

/** `--image TEMPLATE=IMAGE` (repeatable): the image map's extra or replaced entries. */
export function imageFlags(values: string[]): Record<string, string> | undefined {
  if (!values.length) return undefined;
  const images: Record<string, string> = {};
  for (const v of values) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=([^,\s]+(,vm)?)$/.exec(v);
    if (!m)
      throw new ServeError(
        `--image must be TEMPLATE=IMAGE (a DNS-label template name; for Incus ALIAS or ALIAS,vm), got "${v}"`,
      );
    images[m[1]!] = m[3]!;
  }
  return images;
}

/**
 * Whether two listen addresses take the same port: same port, and the same host or either on
 * every interface. `8080` and `127.0.0.1:8080` clash too: Caddy (2.6+) binds with SO_REUSEPORT, so
 * both would come up and loopback requests for the UI would reach the workspace server.
 */
export function clash(a: string, b: string): boolean {
  const x = parseListen(a);
  const y = parseListen(b);
  const everywhere = (host: string) => host === '0.0.0.0' || host === '::';
  return x.port === y.port && (x.host === y.host || everywhere(x.host) || everywhere(y.host));
}
