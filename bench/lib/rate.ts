// Open-loop load at a fixed rate, and the test of whether a step of it was sustained.
import { sleep } from '../../infra/local-process';
import { median } from './stats';

/**
 * Fires `fire(i)` at a constant rate (open loop: a slow call never delays the next) and waits for every call;
 * `drainMs` is how long the calls still ran after the last one was fired.
 */
export async function atRate(rate: number, seconds: number, fire: (i: number) => Promise<void>): Promise<{ count: number; drainMs: number }> {
  const count = Math.max(2, Math.round(rate * seconds));
  const started = performance.now();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    calls.push(fire(i));
  }
  const lastFired = performance.now();
  await Promise.all(calls);
  return { count, drainMs: performance.now() - lastFired };
}

/** One step of open-loop load: what was sent, what came back, and the latencies in send order. */
export interface RateStep {
  sent: number;
  delivered: number;
  drainMs: number;
  latencies: number[];
}

/**
 * Keeps up: everything delivered, the calls done within a second of the last one fired (they queue otherwise), and
 * no backlog building up: the last third of the step waited at most half a second longer than the first third (an
 * absolute margin, so a few noisy samples on a shared host do not decide it).
 */
export function sustained(step: RateStep): boolean {
  if (step.delivered < step.sent || step.drainMs > 1000 || step.latencies.length === 0) return false;
  const third = Math.max(1, Math.floor(step.latencies.length / 3));
  const first = median(step.latencies.slice(0, third));
  const last = median(step.latencies.slice(-third));
  return last <= first + 500;
}
