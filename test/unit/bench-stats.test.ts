import { processCpuSeconds, selfCpuSeconds } from '../../bench/lib/cpu';
import { alternateUntil, mapBounded } from '../../bench/lib/blocks';
import { linearFit } from '../../bench/lib/fit';
import { alternate, median, percentile, ratioSummary } from '../../bench/lib/stats';
import { benchAgencies, spreadFindings } from '../../bench/lib/submissions';

describe('bench statistics', () => {
  it('median takes the middle value, or the mean of the two middle values, without sorting the input in place', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('percentile is nearest-rank on a sorted copy', () => {
    const xs = [15, 20, 35, 40, 50];
    expect(percentile(xs, 0)).toBe(15);
    expect(percentile(xs, 30)).toBe(20);
    expect(percentile(xs, 40)).toBe(20);
    expect(percentile(xs, 50)).toBe(35);
    expect(percentile(xs, 100)).toBe(50);
  });

  it('refuses empty samples, non-finite values and percentiles outside [0,100]', () => {
    expect(() => median([])).toThrow(/empty/);
    expect(() => median([1, Number.NaN])).toThrow(/non-finite/);
    expect(() => percentile([1], 101)).toThrow(/\[0,100\]/);
  });

  it('ratioSummary reports the spread and the number of blocks', () => {
    expect(ratioSummary([0.9, 1.1, 1.0, 0.8])).toEqual({ median: 0.95, min: 0.8, max: 1.1, p25: 0.8, p75: 1.0, blocks: 4 });
  });

  it('alternate runs blocks in ABBA order, one at a time, and keeps each side in its own list', async () => {
    const order: string[] = [];
    let running = 0;
    const side = (name: string) => async () => {
      running += 1;
      expect(running).toBe(1);
      order.push(name);
      await new Promise((r) => setTimeout(r, 1));
      running -= 1;
      return `${name}${order.length}`;
    };
    const result = await alternate(3, side('c'), side('b'));
    expect(order).toEqual(['c', 'b', 'b', 'c', 'c', 'b']);
    expect(result).toEqual({ candidate: ['c1', 'c4', 'c5'], baseline: ['b2', 'b3', 'b6'] });
    await expect(alternate(0, side('c'), side('b'))).rejects.toThrow(/positive integer/);
  });
});

describe('bench helpers', () => {
  it('linearFit recovers a line and scores curvature below 1', () => {
    const line = linearFit([1, 2, 3, 4], [3, 5, 7, 9]);
    expect(line.slope).toBeCloseTo(2);
    expect(line.intercept).toBeCloseTo(1);
    expect(line.r2).toBeCloseTo(1);
    expect(line.predict(10)).toBeCloseTo(21);
    expect(linearFit([1, 2, 3, 4, 5], [1, 4, 9, 16, 25]).r2).toBeLessThan(0.98);
    expect(() => linearFit([1, 1], [2, 3])).toThrow(/distinct/);
  });

  it('mapBounded keeps order and never exceeds its concurrency', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapBounded(7, 3, async (i) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 * (7 - i)));
      running -= 1;
      return i * i;
    });
    expect(out).toEqual([0, 1, 4, 9, 16, 25, 36]);
    expect(peak).toBe(3);
  });

  it('alternateUntil continues the ABBA sequence while time allows, and always runs one pair', async () => {
    const order: string[] = [];
    const side = (name: string) => async () => {
      order.push(name);
      return name;
    };
    const all = await alternateUntil(Date.now() + 60_000, 3, side('c'), side('b'), 0);
    expect(order).toEqual(['c', 'b', 'b', 'c', 'c', 'b']);
    expect(all).toEqual({ candidate: ['c', 'c', 'c'], baseline: ['b', 'b', 'b'] });
    order.length = 0;
    const late = await alternateUntil(Date.now() - 1, 3, side('c'), side('b'));
    expect(order).toEqual(['c', 'b']);
    expect(late.candidate).toHaveLength(1);
  });

  it('agencies beyond the six are synthetic ids; findings spread evenly', () => {
    expect(benchAgencies(8)).toEqual(['nsa', 'cisa', 'treasury', 'nist', 'dod', 'dhs', 'agency-07', 'agency-08']);
    expect(spreadFindings(10, 6)).toEqual([2, 2, 2, 2, 1, 1]);
    expect(spreadFindings(0, 3)).toEqual([0, 0, 0]);
  });

  it('reads CPU time of this process from /proc, close to what Node reports', () => {
    // Spin on CPU time, not wall time, so a busy machine cannot starve the loop.
    const until = selfCpuSeconds() + 0.2;
    for (let i = 0; i < 1e9 && selfCpuSeconds() < until; i++) Math.sqrt(Math.random());
    const fromProc = processCpuSeconds(process.pid);
    const fromNode = selfCpuSeconds();
    expect(fromProc).toBeGreaterThan(0.1);
    // Clock ticks are 10 ms; the two readings are taken a moment apart.
    expect(Math.abs(fromProc - fromNode)).toBeLessThan(0.1);
  });
});
