/**
 * A timer that an AbortSignal cuts short: the one wait used by the monitor loop and by plugins that
 * back off (webhook retries).
 *
 * @module
 */

/** Waits `ms`, resolving early (never rejecting) when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
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
