// The one polling helper of the test suites (vitest's vi.waitFor underneath): calls `fn` until
// it returns something other than undefined, null or false, and resolves with that. A throw
// counts as "not yet" (a server still coming up), and the last one is named when it times out.
import { vi } from 'vitest';
import { errorMessage } from '../specs/errors.js';

export type Ready<T> = Exclude<T, undefined | null | false>;

export async function poll<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<Ready<T>> {
  let last: unknown;
  try {
    return await vi.waitFor(
      async () => {
        const v = await fn();
        last = v;
        if (v === undefined || v === null || v === false) throw new Error(`not yet (last value: ${JSON.stringify(v)})`);
        return v as Ready<T>;
      },
      { timeout: timeoutMs, interval: intervalMs },
    );
  } catch (err) {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}: ${errorMessage(err)}${last !== undefined ? `; last value: ${JSON.stringify(last)}` : ''}`,
    );
  }
}
