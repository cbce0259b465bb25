// Where the server keeps its state inside its data directory: read by the store, the API
// (the activity logs it serves) and the controller (which writes those logs).
import { join } from 'node:path';
import { DEFAULT_NAMESPACE, splitKey } from '../specs/index.js';

export const storePath = (dataDir: string) => join(dataDir, 'store.json');
/** The activity logs, one folder per workspace (`.logs/NAME/events.jsonl`). */
export const logsDir = (dataDir: string) => join(dataDir, '.logs');
/**
 * The activity log folder (under `logsRoot`, the logsDir) of the workspace of key `key`: `.logs/NAME` in the default namespace
 * (as before namespaces), `.logs/@NS/NAME` in another ('@' starts no name: the two never meet).
 */
export function activityLogDir(logsRoot: string, key: string): string {
  const { namespace, name } = splitKey(key);
  return namespace === DEFAULT_NAMESPACE ? join(logsRoot, name) : join(logsRoot, `@${namespace}`, name);
}
/** The ImageTemplate build logs, one file per template (`.build-logs/NAME.log`). */
export const buildLogPath = (dataDir: string) => join(dataDir, '.build-logs');
