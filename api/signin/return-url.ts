// Where a sign-in sends the browser back: only one of Tidepool's own origins (the app, the
// workspace and the preview port of the host the browser signed in on, or --workspace-url) or a
// path of the app origin. Anything else (another host, a scheme-relative //evil, a javascript:
// URL) is an open-redirect attempt and refused with 400 before anything is stored.
import { SignInError } from './provider.js';

export interface OwnOrigins {
  /** The app server's port (the proxy's), where the sign-in page is; undefined without a proxy. */
  appPort?: number | undefined;
  /** The ports of the app, workspace and preview servers (the proxy's); empty without a proxy. */
  ports: readonly number[];
  /** Origins reached under another name (--workspace-url). */
  extra: readonly string[];
}

const DEFAULT_RETURN = '/app/';

/** The return URL to use after sign-in on `host` (the app origin's Host), checked; '/app/' when none was given. */
export function safeReturn(raw: string | null | undefined, host: string, own: OwnOrigins): string {
  if (!raw) return DEFAULT_RETURN;
  const refuse = () =>
    new SignInError(
      400,
      `the return URL ${JSON.stringify(raw.slice(0, 200))} is not one of this Tidepool's own pages: only a path (/app/...) or a URL of its app, workspace or preview origin is followed after sign-in`,
    );
  if (raw.startsWith('/')) {
    // "//host" and "/\host" are other hosts to a browser.
    if (raw.startsWith('//') || raw.startsWith('/\\') || /[\r\n\t]/.test(raw)) throw refuse();
    return raw;
  }
  let url: URL;
  let here: URL;
  try {
    url = new URL(raw);
    here = new URL(`http://${host}`);
  } catch {
    throw refuse();
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse();
  if (url.username || url.password) throw refuse();
  const extra = own.extra.some((e) => {
    try {
      return new URL(e).origin === url.origin;
    } catch {
      return false;
    }
  });
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const sameHost = url.hostname.toLowerCase() === here.hostname.toLowerCase();
  const ownPort = port === Number(here.port || 80) || own.ports.includes(port);
  if (!extra && !(sameHost && ownPort)) throw refuse();
  return url.href;
}
