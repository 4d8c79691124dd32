import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Calls at most, the first included; unbounded by default, so only `isRetriable` ends the retries. */
  attempts?: number;
  /** The wait before the first retry, doubled before each next one up to `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
  /** Whether a failure is worth another call; one that is not is thrown at once. Every failure is, by default. */
  isRetriable?: (error: unknown) => boolean;
  /** Called for each failure that is retried, before the wait (e.g. to log it). */
  onRetry?: (error: unknown, attempt: number) => void;
  /** How to wait between calls; a timer by default. */
  wait?: (ms: number) => Promise<void>;
}

/**
 * Calls `fn` until it succeeds, with exponential backoff between calls. Throws the failure `isRetriable` refuses, or
 * the last one once `attempts` calls have failed.
 */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts = Infinity, backoff, isRetriable = () => true, onRetry, wait = (ms: number) => sleep(ms) } = options;
  let delay = backoff.initialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= attempts || !isRetriable(e)) throw e;
      onRetry?.(e, attempt);
      await wait(delay);
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  }
}
