// The internal pages server: it tells a name that exists but is idle (503) from an unknown one
// (404), and a routed name nothing answers on (502), each as a page of Tidepool's own.
import { ZONE } from '../dns/zone.js';
import { portOf, type CaddyConfigSettings } from './config-settings.js';
import type { Json } from './json.js';
import { page, texts, type PageKind } from './pages.js';
import { lookup } from './routes.js';

/** A route name: a workspace's name, then its namespace's when that is not the default (`dev.team-a`). */
const NAME_RE = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$';

/**
 * The internal server that tells why a name got no upstream (see the head of ./config.ts). Each
 * hop is a new request to this same server (a stage in X-Tp-Page), so that each lookup that
 * fails has an error route of its own:
 *   lookup:  the "up" name resolves  -> refused: routed, but nothing answers (502)
 *            else (error route)      -> lookup2
 *   lookup2: the idle name resolves  -> idle: exists, not running (503)
 *            else (error route)      -> unknown (404), once alive.ZONE resolves
 */
export function pagesServer(s: CaddyConfigSettings): Json {
  const pagesPort = String(portOf(s.pagesListen));
  const h = (k: string) => `{http.request.header.${k}}`;
  const ws = h('X-Tp-Ws'),
    port = h('X-Tp-Port'),
    ui = h('X-Tp-Ui');
  const valid = { header_regexp: { 'X-Tp-Ws': { pattern: NAME_RE }, 'X-Tp-Port': { pattern: '^[0-9]{1,5}$' } } };
  const when = (stage: string, kind: PageKind) => ({ ...valid, header: { 'X-Tp-Page': [stage], 'X-Tp-Kind': [kind] } });
  const failed = (stage: string, kind: PageKind) => [
    { ...when(stage, kind), vars: { '{http.error.status_code}': ['503'] } },
  ];
  const setStage = (stage: string) => ({ request: { set: { 'X-Tp-Page': [stage] } } });
  const hop = (name: string, stage: string): Json => ({
    handler: 'reverse_proxy',
    dynamic_upstreams: lookup(s, name, pagesPort),
    headers: setStage(stage),
  });
  const routes: Json[] = [];
  const errors: Json[] = [];
  for (const kind of ['ide', 'port'] as const) {
    const [up, idleName] =
      kind === 'ide'
        ? [`${ws}.up.${ZONE}.`, `${ws}.idle.${ZONE}.`]
        : [`${port}.${ws}.upport.${ZONE}.`, `${port}.${ws}.idleport.${ZONE}.`];
    const refused = texts.refused(kind, ws, port),
      idle = texts.idle(kind, ws, port),
      unknown = texts.unknown(kind, ws, port);
    routes.push({ match: [when('lookup', kind)], handle: [hop(up, 'refused')] });
    routes.push({ match: [when('lookup2', kind)], handle: [hop(idleName, 'idle')] });
    routes.push({ match: [when('refused', kind)], handle: [page(502, refused.title, refused.text, ui)] });
    routes.push({ match: [when('idle', kind)], handle: [page(503, idle.title, idle.text, ui)] });
    routes.push({ match: [when('unknown', kind)], handle: [page(404, unknown.title, unknown.text, ui)] });
    errors.push({
      match: failed('lookup', kind),
      handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: s.pagesListen }], headers: setStage('lookup2') }],
    });
    errors.push({ match: failed('lookup2', kind), handle: [hop(`alive.${ZONE}.`, 'unknown')] });
  }
  routes.push({ handle: [{ handler: 'static_response', status_code: 400, body: 'bad request\n' }] });
  return { listen: [s.pagesListen], automatic_https: { disable: true }, routes, errors: { routes: errors } };
}
