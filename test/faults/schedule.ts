/** The fault schedule: which process dies in which order, the pause before each restart and the gap before each fault. */

export type FaultKind = 'worker' | 'temporal' | 'kafka' | 'ingress' | 'dispatcher' | 'receiver';

export interface PlannedFault {
  kind: FaultKind;
  /** Wait before the fault, from the previous recovery. */
  gapMs: number;
  /** How long the process stays dead (the receiver: how long it fails). */
  downMs: number;
}

/** mulberry32: a small seeded generator, so one seed always gives the same schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FAULT_COUNTS: Record<FaultKind, number> = { worker: 10, temporal: 3, kafka: 3, ingress: 1, dispatcher: 1, receiver: 1 };

/** Every fault of FAULT_COUNTS once, shuffled by the seed; the receiver fails for `receiverFailMs`. */
export function buildSchedule(seed: number, options: { receiverFailMs: number; gapMs: [number, number]; downMs: [number, number] }): PlannedFault[] {
  const random = seededRandom(seed);
  const between = ([lo, hi]: [number, number]) => Math.round(lo + random() * (hi - lo));
  const kinds = (Object.entries(FAULT_COUNTS) as Array<[FaultKind, number]>).flatMap(([kind, n]) => Array.from({ length: n }, () => kind));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.map((kind) => ({ kind, gapMs: between(options.gapMs), downMs: kind === 'receiver' ? options.receiverFailMs : between(options.downMs) }));
}

export function describeSchedule(seed: number, schedule: PlannedFault[]): string {
  const lines = schedule.map(
    (f, i) =>
      `  ${String(i + 1).padStart(2)}. after ${(f.gapMs / 1000).toFixed(1)} s: ${f.kind === 'receiver' ? `receiver fails for ${(f.downMs / 1000).toFixed(0)} s` : `kill -9 ${f.kind}, restart after ${(f.downMs / 1000).toFixed(1)} s`}`,
  );
  return [`fault schedule (seed ${seed}):`, ...lines].join('\n');
}
