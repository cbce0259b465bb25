// The Caddy proxy driver: a Caddy whose config is fixed at boot, and a dnsmasq that holds the
// route table as names. apply() writes a hosts file (and waits until dnsmasq answers from it);
// Caddy is loaded only when its config is not the one the server settings make (a Caddy
// restarted empty, a changed password): route changes never reload it.
//
// The parts: driver.ts (the contract), boot.ts (first start, adoption, the previous settings),
// running.ts (the steady state), desired.ts (the config wanted, what a boot reuses), config.ts
// (the config itself), process.ts (the supervised Caddy), describe.ts (its start-up log
// lines), ../dns/ (the names).
import { CaddyProxyDriver } from './driver.js';
import type { CaddyProxy, CaddyProxyOptions } from './options.js';

export { CaddyAdmin, CaddyAdminError } from './admin.js';
export {
  APP_CSP,
  APP_SERVER,
  PAGES_SERVER,
  PREVIEW_SERVER,
  WORKSPACE_SERVER,
  buildCaddyConfig,
  canonicalJson,
  type CaddyConfigSettings,
  type Json,
} from './config.js';
export { describeCaddy, type CaddyListens, type CaddyLogLine } from './describe.js';
export type { CaddyProxy, CaddyProxyOptions } from './options.js';
export { freeLoopbackPort, type Logger } from './process.js';
export { normalizeRouteTable } from './table.js';
export { TLS_MODES, tlsSettings, type TlsMode, type TlsSettings } from './tls.js';

export function createCaddyProxy(opts: CaddyProxyOptions): CaddyProxy {
  return new CaddyProxyDriver(opts);
}
