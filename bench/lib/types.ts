// Shared shapes of the benchmark harness: every comparison receives a BenchContext and returns a ComparisonResult.
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';

export type BenchMode = 'quick' | 'full';

export interface BenchStack {
  temporalAddress: string;
  kafkaBrokers: string[];
  namespace: string;
  dataDir: string;
  /** pids of the dev server and broker, for CPU time */
  serverPids: { temporal?: number; kafka?: number };
}

export interface BenchContext {
  mode: BenchMode;
  stack: BenchStack;
  /** loadConfig pointed at the bench stack (master key, data dir, brokers, temporal address set). */
  config: Config;
  logger: Logger;
  /** Appends one JSON line (adds `comparison`, `time`) to the results file. */
  record(line: Record<string, unknown>): void;
  /** Epoch ms by which the comparison must have finished; scale your work to fit. */
  deadline: number;
}

export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  blocks: number;
}

export interface ComparisonResult {
  id: 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
  title: string;
  /** what was measured */
  candidate: string;
  /** against what */
  baseline: string;
  /** e.g. 'throughput (submissions/s)', 'p99 latency (ms)' */
  metric: string;
  /** median over blocks */
  candidateValue: number;
  baselineValue: number;
  /** candidate/baseline per block (or as defined by the comparison) */
  ratio: RatioSummary;
  /** e.g. '≥ 0.9 × inverse state-transition ratio' */
  target: string;
  /** evaluated honestly from measured numbers */
  met: boolean;
  /** machine-speed-independent counters per submission/command/event: history events, state transitions,
   *  Kafka records, bytes; for both sides */
  counters: Record<string, number>;
  /** CPU seconds per process role during the comparison (worker, ingress, dispatcher, temporal, kafka, bench) */
  cpuSeconds: Record<string, number>;
  /** measured reasons where a target is missed, what bounds it */
  notes: string[];
}

export interface Comparison {
  id: ComparisonResult['id'];
  title: string;
  run(ctx: BenchContext): Promise<ComparisonResult>;
}
