/**
 * A pause that ends early, without failing, when a signal aborts: what the
 * folder watcher's polls and the webhook listener's retries wait with, so
 * that stopping sync is never held up by a timer.
 *
 * @module
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts (also when it has
 * already). Never rejects.
 *
 * @example
 * ```ts
 * import { sleepUnlessAborted } from "./sleep.ts";
 *
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 10);
 * await sleepUnlessAborted(60_000, stop.signal); // done after ~10 ms
 * ```
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
