// Wake and sleep by request (the API's `wake` and `sleep`, the proxy's page for a sleeping
// workspace), and exec sessions as a sign of use. Each changes only the controller's own
// sleep state and enqueues the workspace: the reconciler does the rest, as for everything.
import type { SleepAnswer, SleepService } from '../../specs/index.js';
import { timestamp } from '../../store/index.js';
import { workspaceKey } from '../keys.js';
import type { Context } from '../reconcilers/context.js';

export class SleepControl implements SleepService {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  wake(name: string, by: string): SleepAnswer {
    const { store, sleepers, queue, events, clock, activity } = this.#ctx;
    const ws = store.get('Workspace', name);
    if (!ws || ws.metadata.deletionTimestamp) return { outcome: 'NotFound', message: `workspace "${name}" not found` };
    if (!ws.spec.running)
      return {
        outcome: 'Stopped',
        message: `workspace "${name}" is stopped (spec.running is false), not asleep: \`tidepool start ${name}\` starts it`,
      };
    // Opening it is use: it does not fall asleep again before its timeout.
    activity.note(name, 'proxy', clock.now());
    if (sleepers.wake(name)) {
      events.record({ kind: 'Workspace', name, uid: ws.metadata.uid! }, 'Normal', 'Waking', `Woken by ${by}.`);
      queue.add(workspaceKey(name));
      return { outcome: 'Waking', message: `workspace "${name}" is waking up` };
    }
    const phase = ws.status?.phase ?? 'Pending';
    if (phase === 'Running') return { outcome: 'Awake', message: `workspace "${name}" is awake` };
    if (phase === 'Pending' || phase === 'Creating' || phase === 'Starting')
      return { outcome: 'Waking', message: `workspace "${name}" is starting (${phase})` };
    return { outcome: 'NotRunning', message: `workspace "${name}" is not asleep (${phase})` };
  }

  sleep(name: string, by: string): SleepAnswer {
    const { store, sleepers, queue, clock } = this.#ctx;
    const ws = store.get('Workspace', name);
    if (!ws || ws.metadata.deletionTimestamp) return { outcome: 'NotFound', message: `workspace "${name}" not found` };
    if (!ws.spec.running)
      return { outcome: 'NotRunning', message: `workspace "${name}" is stopped (spec.running is false)` };
    const put = sleepers.put(name, {
      since: timestamp(clock.now()),
      reason: 'Requested',
      message: `Put to sleep on request (${by}).`,
    });
    queue.add(workspaceKey(name));
    return { outcome: 'Asleep', message: `workspace "${name}" ${put ? 'is going to sleep' : 'is asleep'}` };
  }

  execOpened(name: string): () => void {
    const { activity, clock } = this.#ctx;
    const done = activity.execOpened(name, clock.now());
    return () => done(clock.now());
  }
}
