// The composition root's public face: what `tidepool serve` (and a test or a bench) starts,
// and the table of its flags.
export { DEFAULT_PORTS } from '../drivers/proxy/types.js';
export { defaultWebRoot } from './lifecycle.js';
export { runServe, serveUntilSignalled, type ServeHandle, type ServeOptions } from './serve.js';
export { serveFlags, serveSettingsFrom, type ServeSettings } from './serve-flags.js';
export { optionSpec, attributeName, type Flag, type RawFlags } from './flags.js';
export { DEFAULT_INCUS_SOCKET, RUNTIMES, defaultRuntime, imageMapFor, type RuntimeName } from './runtimes.js';
export { PROXIES, type ProxyName } from './proxies.js';
export { ServeError } from './errors.js';
export { parseSyncDirFlag, parseSyncDirFlags } from './sync-dirs.js';
// What the CLI needs to find a local server and its credentials: the server's own names.
export {
  DEFAULT_LISTEN,
  clientCredentials,
  credentialsPath,
  resolveDataDir,
  serverUrlForListen,
  type Credentials,
} from '../api/config.js';
