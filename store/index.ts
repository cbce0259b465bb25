export * from './errors.js';
export * from './selector.js';
export * from './store.js';
export * from './types.js';
export { readStoreState } from './load.js';
export { eventsPath } from './store.js';
export { buildLogPath, logsDir, storePath } from './paths.js';
export type { StoreClient } from './client.js';
export { imageTemplateAdmission, type Admission } from './strategies/index.js';
