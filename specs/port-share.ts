// The names the proxy and the API share for a public Port's share link (the API's
// api/port-share.ts makes and checks the tokens; Caddy's drivers/proxy/caddy/auth.ts and
// routes.ts carry them to the API and strip them before the dev server).

/** The path segment that carries a share token, after the Port's prefix: /workspace/{ws}/port/{n}/tp-share/{token}/. */
export const SHARE_SEGMENT = 'tp-share';
/** The cookie that keeps the token for the rest of a visit (scoped to the Port's path, HttpOnly). */
export const SHARE_COOKIE = 'tp_share';
/** The original request's URI, sent by the proxy with its forward auth. */
export const FORWARDED_URI_HEADER = 'X-Forwarded-Uri';
/** The share cookie's value, cut out of the Cookie header by the proxy for its forward auth. */
export const SHARE_HEADER = 'X-Tidepool-Share';
/** In the API's answer to the forward auth: a Set-Cookie the proxy adds to the response. */
export const SET_SHARE_COOKIE_HEADER = 'X-Tidepool-Set-Cookie';
