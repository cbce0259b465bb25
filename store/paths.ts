// Where the server keeps its state inside its data directory: read by the store, the API
// (the activity logs it serves) and the controller (which writes those logs).
import { join } from 'node:path';

export const storePath = (dataDir: string) => join(dataDir, 'store.json');
/** The activity logs, one folder per workspace (`.logs/NAME/events.jsonl`). */
export const logsDir = (dataDir: string) => join(dataDir, '.logs');
/** The ImageTemplate build logs, one file per template (`.build-logs/NAME.log`). */
export const buildLogPath = (dataDir: string) => join(dataDir, '.build-logs');
