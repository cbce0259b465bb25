// The API server and what other parts of Tidepool reuse from it.
export {
  activeWatchCount,
  buildServer,
  startServer,
  LOG_REDACT,
  type ServerOptions,
  type StartedServer,
} from './server.js';
export * from '../store/apply/index.js';
export { openApiDocument } from './openapi.js';
export { mergePatch } from './body.js';
export { ApiError, HTTP_STATUS } from './errors.js';
