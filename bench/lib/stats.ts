// Small statistics for benchmark blocks: medians, nearest-rank percentiles and ABBA alternation.
import type { RatioSummary } from './types';

function sortedFinite(xs: number[]): number[] {
  if (xs.length === 0) throw new Error('statistics of an empty sample are undefined');
  if (xs.some((x) => !Number.isFinite(x))) throw new Error(`sample contains a non-finite value: ${xs.join(', ')}`);
  return [...xs].sort((a, b) => a - b);
}

/** Median; the mean of the two middle values for an even count. */
export function median(xs: number[]): number {
  const sorted = sortedFinite(xs);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile on a sorted copy; p in [0,100] (p = 0 is the minimum). */
export function percentile(xs: number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be in [0,100], got ${p}`);
  const sorted = sortedFinite(xs);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function ratioSummary(ratios: number[]): RatioSummary {
  const sorted = sortedFinite(ratios);
  return {
    median: median(sorted),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    p25: percentile(sorted, 25),
    p75: percentile(sorted, 75),
    blocks: sorted.length,
  };
}

/**
 * Runs candidate and baseline in alternating blocks (c,b,b,c,c,b… ABBA order to cancel drift); returns per-block values.
 * `blocks` is the number of block pairs: each side runs `blocks` times, sequentially, never overlapping.
 */
export async function alternate<T>(blocks: number, candidate: () => Promise<T>, baseline: () => Promise<T>): Promise<{ candidate: T[]; baseline: T[] }> {
  if (!Number.isInteger(blocks) || blocks < 1) throw new Error(`blocks must be a positive integer, got ${blocks}`);
  const result: { candidate: T[]; baseline: T[] } = { candidate: [], baseline: [] };
  for (let pair = 0; pair < blocks; pair++) {
    if (pair % 2 === 0) {
      result.candidate.push(await candidate());
      result.baseline.push(await baseline());
    } else {
      result.baseline.push(await baseline());
      result.candidate.push(await candidate());
    }
  }
  return result;
}
