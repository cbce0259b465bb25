// The composition root's public face: what `tidepool serve` (and a test or a bench) starts.
export {
  DEFAULT_PORTS,
  defaultWebRoot,
  runServe,
  serveUntilSignalled,
  type ServeHandle,
  type ServeOptions,
} from './serve.js';
export {
  DEFAULT_INCUS_SOCKET,
  PROXIES,
  RUNTIMES,
  defaultRuntime,
  imageMapFor,
  type ProxyName,
  type ProxySettings,
  type RuntimeName,
  type RuntimeSettings,
} from './drivers.js';
export { ServeError } from './errors.js';
export { parseSyncDirFlag, parseSyncDirFlags } from './sync-dirs.js';
