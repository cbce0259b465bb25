// One way to read a message out of whatever was thrown. It lives in specs/ because specs/
// is the layer every other one (store, api, controller, server, cli) may import.

/** The message of an Error, or the thrown value as text (a string, a number, an object). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}
