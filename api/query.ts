// A query string read strictly: a value whose percent-encoding is broken (`%E0%A4%A`, a lone
// `%`) is refused with 400 naming the parameter, where URLSearchParams would quietly turn it
// into U+FFFD and run a command the client never sent.
import { badRequest } from '../store/index.js';

/** The parameters of `url`'s query ('+' is a space, as in forms); throws 400 on bad encoding. */
export function strictQuery(url: string): URLSearchParams {
  const at = url.indexOf('?');
  const out = new URLSearchParams();
  if (at < 0) return out;
  for (const pair of url.slice(at + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey, undefined);
    out.append(key, decode(rawValue, key));
  }
  return out;
}

function decode(raw: string, key: string | undefined): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    const what = key === undefined ? 'a query parameter name' : `query parameter ${JSON.stringify(key.slice(0, 50))}`;
    const message = `${what} is not valid percent-encoding: "${raw.slice(0, 100)}" (encode each byte as %XX, UTF-8)`;
    throw badRequest(message, [
      { field: key === undefined ? 'query' : `query.${key}`, reason: 'FieldValueInvalid', message },
    ]);
  }
}
