// The JSON of Caddy's config as a type, and the two questions asked of a config as a whole:
// is it the same as another one (canonicalJson), and which password hashes it holds.
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type JsonObject = { [key: string]: Json };

/** Every basic-auth hash for `username` found in a config (to reuse one that still matches). */
export function passwordHashesIn(config: Json, username: string): string[] {
  const out = new Set<string>();
  const walk = (v: Json): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      if (v.username === username && typeof v.password === 'string' && v.password.startsWith('$2')) out.add(v.password);
      Object.values(v).forEach(walk);
    }
  };
  walk(config);
  return [...out];
}

/** JSON with object keys sorted: two configs are the same to Caddy exactly when these are equal. */
export function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
