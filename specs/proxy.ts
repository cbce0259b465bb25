// What Tidepool's own Caddy and its API agree on. Caddy adds this header, holding a secret
// of the data directory, to every request it sends the API (the forward auth and the proxied
// API); the API believes X-Forwarded-For only on a request that carries it. Caddy sets the
// header itself, replacing any a client sent.
export const PROXY_SECRET_HEADER = 'X-Tidepool-Proxy';
