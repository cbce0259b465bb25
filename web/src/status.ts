// What a Workspace's status means to a person using the page: whether its IDE can be opened
// (and why not), what its Start / Stop control is waiting for, a sentence about its state, and
// which sync folder owns it. The controller's conditions speak to API users ("spec.running is
// false"); these speak to someone next to a Start button.
import { condition, type Sync, type Workspace } from './api.js';

/** Annotation a GitOps sync sets on every object it applies (gitops/ SYNC_ANNOTATION). */
export const SYNC_ANNOTATION = 'tidepool/sync';
/** The file, relative to the sync folder, that declares the object (when the server sets it). */
export const SYNC_FILE_ANNOTATION = 'tidepool/sync-file';

/** Fields some servers add to Workspace status; shown when present, never guessed. */
export interface StatusExtras {
  instance?: string;
  lastAccessTime?: string;
}

export function extras(ws: Workspace): StatusExtras {
  return (ws.status ?? {}) as StatusExtras;
}

export type IdeState = { open: true } | { open: false; why: string };

/** The IDE can be opened only while the workspace is Running and Ready; otherwise, in a word or two, why not. */
export function ideState(ws: Workspace): IdeState {
  const phase = ws.status?.phase;
  const ready = condition(ws.status?.conditions)?.status === 'True';
  if (ws.metadata.deletionTimestamp) return { open: false, why: 'being deleted' };
  if (phase === 'Running' && ready) return { open: true };
  // Opening a sleeping workspace wakes it: the link works, and its page says it is waking.
  if (phase === 'Sleeping') return { open: true };
  switch (phase) {
    case 'Stopped':
      return { open: false, why: 'stopped' };
    case 'Stopping':
      return { open: false, why: 'stopping' };
    case 'Failed':
      return { open: false, why: 'failed' };
    case 'Deleting':
      return { open: false, why: 'being deleted' };
    default:
      return { open: false, why: ws.spec.running ? 'starting' : 'stopped' };
  }
}

/** The phases where a start (running) or a stop (not running) has been carried out, or cannot go further by waiting. */
const SETTLED: Record<'start' | 'stop', readonly string[]> = {
  start: ['Running', 'Failed', 'Pending', 'Sleeping'],
  stop: ['Stopped', 'Failed', 'Pending'],
};

/**
 * True while the phase has not yet followed spec.running: Start shows "Starting…" until the
 * workspace runs, Stop "Stopping…" until it is stopped. Pending (waiting for capacity, say) and
 * Failed are not waited on: the control is usable there.
 */
export function powerPending(running: boolean, phase: string | undefined): boolean {
  if (phase === undefined) return running;
  return !SETTLED[running ? 'start' : 'stop'].includes(phase);
}

/** The Ready condition's message without API wording ("spec.running is false"). */
export function plainMessage(message: string): string {
  return message
    .replace(/;?\s*set spec\.running to true to start it/g, '; Start runs it again')
    .replace(/\s*\(spec\.running is (true|false)\)/g, '')
    .replace(/spec\.running is (true|false)/g, (_m, v: string) =>
      v === 'true' ? 'it should run' : 'it should be stopped',
    );
}

/** One sentence about where the workspace stands, for the person looking at it. */
export function humanStatus(ws: Workspace): string {
  const phase = ws.status?.phase;
  const ready = condition(ws.status?.conditions);
  if (ws.metadata.deletionTimestamp || phase === 'Deleting') return 'Being deleted: its disk and home go with it.';
  if (phase === 'Running' && ready?.status === 'True') return 'Ready: the IDE answers.';
  if (phase === 'Stopped') return 'Stopped. Its disk and home are kept; Start runs it again.';
  if (phase === 'Stopping') return 'Stopping…';
  if (phase === 'Sleeping') {
    const since = (ws.status as { sleep?: { since?: string } } | undefined)?.sleep?.since;
    return `Sleeping${since ? ` since ${new Date(since).toLocaleString()}` : ''}: its home is kept, and it wakes when opened.`;
  }
  if (!ready) return ws.spec.running ? 'Waiting for the controller to create it…' : 'Stopped.';
  switch (ready.reason) {
    case 'Creating':
      return `Creating it from image “${ws.spec.image}”…`;
    case 'Starting':
      return 'Starting; waiting for its network address…';
    case 'WaitingForIDE':
      return ready.message.includes('has not answered')
        ? plainMessage(ready.message)
        : 'Started; waiting for the IDE to answer…';
    case 'WaitingForRoute':
    case 'VMNotReady':
      return 'Started; opening the way to its IDE…';
    default:
      return plainMessage(ready.message || ready.reason);
  }
}

/** Which sync folder declares a workspace (from its annotations), with the folder and file when known. */
export interface SyncOwner {
  sync: string;
  folder?: string;
  file?: string;
}

export function syncOwner(ws: Workspace, syncs: readonly Sync[]): SyncOwner | undefined {
  const a = ws.metadata.annotations ?? {};
  const sync = a[SYNC_ANNOTATION];
  if (!sync) return undefined;
  const folder = syncs.find((s) => s.metadata.name === sync)?.spec.path;
  const file = a[SYNC_FILE_ANNOTATION];
  return { sync, ...(folder ? { folder } : {}), ...(file ? { file } : {}) };
}

/** "the sync folder “team” (/srv/team), file workspaces/alice.yaml" */
export function describeOwner(o: SyncOwner): string {
  return `the sync folder “${o.sync}”${o.folder ? ` (${o.folder})` : ''}${o.file ? `, file ${o.file}` : ''}`;
}
