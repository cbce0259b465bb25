// Sleeping and waking by request: implemented by the controller, used by the API (`tidepool
// wake`, `tidepool sleep`, the UI's buttons, and the proxy's page for a sleeping workspace).

/** What a wake or sleep request did. */
export interface SleepAnswer {
  /** Asleep, Waking, Awake (nothing to do), Stopped (spec.running is false: `tidepool start`), NotFound. */
  outcome: 'Asleep' | 'Waking' | 'Awake' | 'Stopped' | 'NotFound' | 'NotRunning';
  /** The answer as a person reads it. */
  message: string;
}

export interface SleepService {
  /** Wakes a sleeping workspace (it starts when the budget admits it, making room if allowed). */
  wake(name: string, by: string): SleepAnswer;
  /** Puts a running workspace to sleep now, whatever its idle timeout. */
  sleep(name: string, by: string): SleepAnswer;
  /** An exec or shell session opened on `name` (it keeps it awake); the function ends it. */
  execOpened(name: string): () => void;
}
