import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mapBounded } from './blocks';

/** Machine-speed-independent cost of one submission: its workflow and its children, summed. */
export interface SubmissionCounters {
  workflows: number;
  historyEvents: number;
  /** Serialized size of the raw histories as the server stores them (payloads still encrypted). */
  historyBytes: number;
  stateTransitions: number;
  activities: number;
  updates: number;
  signals: number;
  timers: number;
  /** Kafka records written: one per `publishEvent` activity, regular or local. */
  kafkaRecords: number;
}

const ZERO: SubmissionCounters = {
  workflows: 0,
  historyEvents: 0,
  historyBytes: 0,
  stateTransitions: 0,
  activities: 0,
  updates: 0,
  signals: 0,
  timers: 0,
  kafkaRecords: 0,
};

type MarkerAttributes = { markerName?: string | null; details?: Record<string, { payloads?: Array<{ data?: Uint8Array | null }> | null }> | null };

/** The activity type a local activity's marker records (the SDK core writes its data as plain JSON). */
function localActivityType(marker: MarkerAttributes | null | undefined): string | undefined {
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type;
  } catch {
    return undefined;
  }
}

/** Reads the counters of the given workflow executions (closed or open) from the server. */
export async function countWorkflows(client: Client, workflowIds: string[]): Promise<SubmissionCounters> {
  const per = await mapBounded(workflowIds.length, 8, async (i) => {
    const handle = client.workflow.getHandle(workflowIds[i]!);
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const c = { ...ZERO, workflows: 1 };
    c.stateTransitions = Number(description.raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
    c.historyBytes = temporal.api.history.v1.History.encode(history).finish().length;
    for (const e of history.events ?? []) {
      c.historyEvents += 1;
      const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (activity) {
        c.activities += 1;
        if (activity === 'publishEvent') c.kafkaRecords += 1;
      }
      if (localActivityType(e.markerRecordedEventAttributes) === 'publishEvent') c.kafkaRecords += 1;
      if (e.workflowExecutionUpdateAcceptedEventAttributes) c.updates += 1;
      if (e.workflowExecutionSignaledEventAttributes) c.signals += 1;
      if (e.timerStartedEventAttributes) c.timers += 1;
    }
    return c;
  });
  return sumCounters(per);
}

export function sumCounters(list: SubmissionCounters[]): SubmissionCounters {
  const total = { ...ZERO };
  for (const c of list) for (const k of Object.keys(total) as (keyof SubmissionCounters)[]) total[k] += c[k];
  return total;
}

/** Per-submission mean of a list of submissions' counters. */
export function meanCounters(list: SubmissionCounters[]): SubmissionCounters {
  if (list.length === 0) throw new Error('no submissions were counted');
  const total = sumCounters(list);
  for (const k of Object.keys(total) as (keyof SubmissionCounters)[]) total[k] = Math.round((total[k] / list.length) * 10) / 10;
  return total;
}

/** Flattens counters into a ComparisonResult's `counters`, prefixed per side. */
export function prefixed(prefix: string, c: SubmissionCounters): Record<string, number> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [`${prefix}.${k}`, v]));
}
