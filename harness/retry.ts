// One retry loop for every wait in the harness, with an injectable clock so tests don't sleep.

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface RetryOptions {
  timeoutMs: number;
  intervalMs?: number;
  clock?: Clock;
  /** Aborts the wait early (e.g. the VM process died); its reason is thrown. */
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
      if (lastTry) throw e;
      lastError = e;
    }
    if (lastTry) throw new RetryTimeout(timeoutMs, lastError);
    await clock.sleep(Math.max(0, Math.min(intervalMs, deadline - clock.now())));
  }
}

export class RetryTimeout extends Error {
  constructor(readonly timeoutMs: number, readonly lastError: unknown) {
    super(`gave up after ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`, { cause: lastError });
    this.name = 'RetryTimeout';
  }
}
