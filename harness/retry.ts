// One retry loop for every wait in the harness, with an injectable clock so tests don't sleep.

export interface Clock {
  now(): number;
  /** May return early once `signal` aborts; callers check the signal after waking. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((r) => {
      if (signal?.aborted) return r();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        r();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface RetryOptions {
  timeoutMs: number;
  intervalMs?: number;
  clock?: Clock;
  /** Aborts the wait at once, even mid-interval (e.g. the VM process died, the run was interrupted); its reason is thrown. */
  signal?: AbortSignal;
}

/**
 * Calls `check(lastTry)` until it returns a value other than `undefined`.
 * The last try is told it is the last, so it can throw a descriptive error instead of returning undefined.
 * Throws `RetryTimeout` (carrying the last error seen) when time runs out.
 */
export async function retryUntil<T>(
  check: (lastTry: boolean) => Promise<T | undefined>,
  { timeoutMs, intervalMs = 250, clock = realClock, signal }: RetryOptions,
): Promise<T> {
  const deadline = clock.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    const lastTry = clock.now() + intervalMs >= deadline;
    try {
      const v = await check(lastTry);
      if (v !== undefined) return v;
      lastError = undefined;
    } catch (e) {
      signal?.throwIfAborted(); // a check cut short by the abort is not a failure to retry
      if (lastTry) throw e;
      lastError = e;
    }
    if (lastTry) throw new RetryTimeout(timeoutMs, lastError);
    await sleepUnlessAborted(clock, Math.max(0, Math.min(intervalMs, deadline - clock.now())), signal);
  }
}

/** Sleeps, but wakes at once on abort, even with a clock that ignores the signal. */
function sleepUnlessAborted(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return clock.sleep(ms);
  if (signal.aborted) return Promise.resolve();
  let onAbort!: () => void;
  const aborted = new Promise<void>((r) => {
    onAbort = r;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([clock.sleep(ms, signal), aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

export class RetryTimeout extends Error {
  constructor(readonly timeoutMs: number, readonly lastError: unknown) {
    super(`gave up after ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`, { cause: lastError });
    this.name = 'RetryTimeout';
  }
}
