// A browser holds at most 6 HTTP/1.1 connections per host, and each page keeps one watch stream
// per kind open. So that a second tab still gets connections, a page that stays hidden for a
// while closes its streams, and lists and watches again when it is shown.

export interface Pausable {
  start(): void;
  stop(): void;
}

export interface VisibilitySource extends EventTarget {
  readonly visibilityState: DocumentVisibilityState;
}

/** Starts the stores now (if the page is visible) and pauses them while it is hidden for graceMs. */
export function followWhileVisible(
  stores: readonly Pausable[],
  doc: VisibilitySource = document,
  graceMs = 10_000,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const startAll = () => {
    for (const s of stores) s.start();
  };
  const stopAll = () => {
    for (const s of stores) s.stop();
  };
  const onChange = () => {
    if (doc.visibilityState === 'hidden') {
      timer ??= setTimeout(() => {
        timer = undefined;
        stopAll();
      }, graceMs);
    } else {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      startAll();
    }
  };
  doc.addEventListener('visibilitychange', onChange);
  if (doc.visibilityState !== 'hidden') startAll();
  return () => {
    doc.removeEventListener('visibilitychange', onChange);
    if (timer !== undefined) clearTimeout(timer);
    stopAll();
  };
}
