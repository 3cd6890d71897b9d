// Retries a check until it holds or time runs out, keeping the last observation so a failure can report
// what it saw. Errors thrown by the check (connection lost, VM gone) end the wait at once instead of being retried,
// and so does an abort of `signal`, even mid-interval: its reason is thrown.
import { retryUntil, RetryTimeout, type Clock } from '../retry.js';
import type { Observation } from './checks.js';

export interface RetryCheckOptions {
  timeoutMs: number;
  intervalMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface RetriedObservation {
  last: Observation;
  attempts: number;
}

export async function retryCheck(check: () => Promise<Observation>, o: RetryCheckOptions): Promise<RetriedObservation> {
  let last: Observation | undefined;
  let attempts = 0;
  const fatal = new AbortController();
  const onOuterAbort = () => fatal.abort(o.signal?.reason);
  if (o.signal?.aborted) onOuterAbort(); // an abort event never fires for a signal that is already aborted
  else o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    await retryUntil(
      async () => {
        attempts++;
        try {
          last = await check();
        } catch (e) {
          fatal.abort(e);
          throw e;
        }
        return last.ok ? last : undefined;
      },
      { timeoutMs: o.timeoutMs, intervalMs: o.intervalMs, clock: o.clock, signal: fatal.signal },
    );
  } catch (e) {
    if (fatal.signal.aborted) throw fatal.signal.reason;
    if (!(e instanceof RetryTimeout) || !last) throw e;
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
  return { last: last!, attempts };
}
