/**
 * Comparison (b): signed agency commands consumed from Kafka by the real ingress process (`preflight ingress`:
 * verification, Temporal update, replies on Kafka, offset commit) against the same updates sent straight to Temporal by
 * a client with the ingress's concurrency bound (partitions at once × commands with different keys at once in each). Ratio = ingress
 * throughput / direct throughput, per pair of blocks that send the same command type.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Partitioners, type KafkaMessage, type PartitionMetadata } from 'kafkajs';
import { buildAgencyCommand, produceAgencyMessage } from '../events/agency-client';
import { tailTopic } from '../events/consumer';
import { headersToStrings, type WireMessage } from '../events/envelope';
import { createKafka } from '../events/kafka';
import { AUDIT_TOPIC, agencyInboxTopic, TOPICS } from '../events/topics';
import { connectClient, deploymentDataConverter } from '../infra/temporal';
import { DEFAULT_COMMANDS_IN_FLIGHT, DEFAULT_INGRESS_GROUP } from '../workers/ingress/index';
import { agencyWorkflowId, submissionWorkflowId, SUBMISSION_EVENT_TYPES } from '../workflows/submission/contract';
import { AGENCY_COMMAND_UPDATES } from '../workflows/assessment/contract';
import { agencyKeys, startGroupAtEnd } from '../test/helpers/agency-events';
import { SIX_AGENCIES, submissionInput } from '../test/helpers/lifecycle';
import { mapBounded, pollUntil, timedBlock } from './lib/blocks';
import { countWorkflows, type SubmissionCounters } from './lib/counters';
import { CpuMeter } from './lib/cpu';
import { alternate, median, ratioSummary } from './lib/stats';
import type { BenchContext, Comparison, ComparisonResult } from './lib/types';
import { recordBytes, topicRecords } from './kafka-counters';
import { cpuBySide, startConsumerProcess, type BenchProcess } from './preflight-processes';
import { startBenchWorker, type BenchWorker } from './lib/worker';

/** The ingress's own bound (workers/ingress/index.ts): commands with different keys at once, all partitions together. */
const INGRESS_CONCURRENCY = DEFAULT_COMMANDS_IN_FLIGHT;
/** Submissions whose history counters are read per block (the counters do not depend on which ones). */
const COUNTER_SAMPLE = 4;
const WAIT_MS = 120_000;

type CommandType = 'gov.preflight.assessment.accept.v1' | 'gov.preflight.assessment.start.v1' | 'gov.preflight.assessment.request-info.v1';

interface BlockPlan {
  type: CommandType;
  agencyId: string;
  /** The status each command leaves the assessment in, announced by one status event. */
  status: string;
  data: Record<string, unknown>;
}

/**
 * Pair p of blocks: both sides send the same command type, each to its own agency of every prepared submission
 * (pairs 0–2 accept, 3–5 start the six assessments; later pairs request information, which may repeat).
 */
function planFor(pair: number, side: 0 | 1): BlockPlan {
  const agencyId = SIX_AGENCIES[2 * (pair % 3) + side]!;
  if (pair < 3) return { type: 'gov.preflight.assessment.accept.v1', agencyId, status: 'ACCEPTED', data: {} };
  if (pair < 6) return { type: 'gov.preflight.assessment.start.v1', agencyId, status: 'IN_PROGRESS', data: {} };
  return { type: 'gov.preflight.assessment.request-info.v1', agencyId, status: 'INFO_REQUESTED', data: { question: 'Which tools can the model call?' } };
}

interface Arrival {
  at: number;
  kafkaTimestamp: number;
  bytes: number;
  type: string;
  key: string | null;
  data: Record<string, unknown>;
}

/** (after − before) / count for every counter. */
function perCommand(after: SubmissionCounters, before: SubmissionCounters, count: number): SubmissionCounters {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof SubmissionCounters)[]) out[k] = (after[k] - before[k]) / count;
  return out;
}

function arrival(m: KafkaMessage): Arrival {
  let type = '';
  let data: Record<string, unknown> = {};
  try {
    type = headersToStrings(m.headers).ce_type ?? '';
    data = JSON.parse(m.value?.toString() ?? '{}') as Record<string, unknown>;
  } catch {
    // not one of ours
  }
  return { at: Date.now(), kafkaTimestamp: Number(m.timestamp), bytes: recordBytes(m), type, key: m.key?.toString() ?? null, data };
}

/** Waits for what the Kafka tails have collected; they fill in from their own callbacks. */
function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  return pollUntil(async () => probe(), what, WAIT_MS, 10);
}

/** Submission ids spread evenly over the command topic's partitions (by the producer's own key → partition rule). */
function balancedIds(perPartition: number, partitions: PartitionMetadata[]): Map<string, number> {
  const partitioner = Partitioners.DefaultPartitioner();
  const counts = new Map<number, number>();
  const ids = new Map<string, number>();
  for (let tries = 0; ids.size < perPartition * partitions.length && tries < 100_000; tries++) {
    const id = `bench-b-${crypto.randomBytes(5).toString('hex')}`;
    const partition = partitioner({ topic: TOPICS.agencyCommands, partitionMetadata: partitions, message: { key: id, value: null } });
    if ((counts.get(partition) ?? 0) >= perPartition) continue;
    counts.set(partition, (counts.get(partition) ?? 0) + 1);
    ids.set(id, partition);
  }
  if (ids.size < perPartition * partitions.length) throw new Error('could not spread submission ids over the partitions');
  return ids;
}

interface BlockResult {
  side: 'candidate' | 'baseline';
  pair: number;
  type: string;
  commands: number;
  seconds: number;
  throughput: number;
  rejected: number;
  /** Candidate: median gap between consecutive replies of one partition (ingress time per command); baseline: median update round trip. */
  perCommandMs: number;
  /** Candidate: the same gap on average (first to last reply of a partition over its commands). */
  meanGapMs?: number;
  /** Candidate: time from the produce call to the first reply. */
  firstReplyMs?: number;
  /** Candidate: how long after the ingress produced a reply this process read it (median). */
  tailLagMs?: number;
  /** Candidate: per command partition, ms from the produce call to its first and last reply. */
  partitionSpans?: [number, number][];
  /** Per command, over the sampled submissions' assessment and submission workflows. */
  counters: SubmissionCounters;
  records: Record<string, number>;
  bytes: Record<string, number>;
  cpu: Record<string, number>;
}

export const comparison: Comparison = {
  id: 'b',
  title: 'Agency command ingress vs direct client updates',
  async run(ctx: BenchContext): Promise<ComparisonResult> {
    const began = Date.now();
    const quick = ctx.mode === 'quick';
    const log = ctx.logger.child({ component: 'bench-ingress' });
    const taskQueue = `bench-ingress-${crypto.randomBytes(4).toString('hex')}`;
    const agencies = agencyKeys(SIX_AGENCIES);
    const registryFile = path.join(ctx.stack.dataDir, `${taskQueue}-agencies.json`);
    fs.writeFileSync(registryFile, JSON.stringify(agencies.document));

    const kafka = createKafka(ctx.config.kafka, ctx.logger, ctx.stack.kafkaBrokers, 'bench-ingress');
    const admin = kafka.admin();
    const producer = kafka.producer();
    const processes: (BenchProcess | BenchWorker)[] = [];
    const stops: (() => Promise<unknown>)[] = [];
    let client: Client | undefined;
    try {
      await Promise.all([admin.connect(), producer.connect()]);
      // The ingress's group reads only what this comparison sends, whatever the topic held before.
      await startGroupAtEnd(kafka, DEFAULT_INGRESS_GROUP);
      const [worker, ingress] = await Promise.all([
        startBenchWorker(ctx, { taskQueue }),
        startConsumerProcess(ctx, { role: 'b-ingress', command: 'ingress', env: { PREFLIGHT_AGENCY_REGISTRY: registryFile }, groupId: DEFAULT_INGRESS_GROUP }),
      ]);
      processes.push(worker, ingress);
      client = await connectClient(ctx.config.temporal, ctx.stack.temporalAddress, deploymentDataConverter(ctx.config));

      const replies = new Map<string, Arrival>();
      const events: Arrival[] = [];
      const replyTail = await tailTopic(kafka, TOPICS.agencyReplies, (m) => void replies.set(headersToStrings(m.headers).ce_id ?? '', arrival(m)), {
        groupPrefix: 'bench-ingress',
      });
      stops.push(() => replyTail.stop());
      const eventTail = await tailTopic(kafka, TOPICS.submissionEvents, (m) => void events.push(arrival(m)), { groupPrefix: 'bench-ingress' });
      stops.push(() => eventTail.stop());

      // ---- preparation: submissions whose six assessments are open, spread evenly over the command partitions
      const [commandTopic] = (await admin.fetchTopicMetadata({ topics: [TOPICS.agencyCommands] })).topics;
      const partitions = commandTopic!.partitions;
      // A block must be several rounds of the ingress's concurrency bound, or fixed consume latency dominates it.
      const perPartition = quick ? 32 : 64;
      // Pairs of blocks in ABBA order, as many as the deadline allows; each pair uses two agencies of every submission.
      const maxPairs = quick ? 2 : 6;
      const requestedAgencies = SIX_AGENCIES.slice(0, Math.min(6, 2 * maxPairs));
      const submissions = balancedIds(perPartition, partitions);
      const ids = [...submissions.keys()];
      const setupSeconds = (Date.now() - began) / 1000;
      const prepStarted = Date.now();
      await mapBounded(ids.length, 8, async (i) => {
        const input = submissionInput(Date.now(), 20, { submissionId: ids[i]!, requestedAgencies });
        await client!.workflow.start('submissionWorkflow', { args: [input], taskQueue, workflowId: submissionWorkflowId(input.submissionId) });
      });
      // The invitations are the last events a new submission publishes: once all are out, preparation is over.
      await until('every assessment invited', () => {
        const invited = events.filter(
          (e) => e.type === SUBMISSION_EVENT_TYPES.assessmentStatusChanged && e.data.status === 'INVITED' && submissions.has(e.key ?? ''),
        );
        return invited.length >= ids.length * requestedAgencies.length ? true : undefined;
      });
      const prepSeconds = (Date.now() - prepStarted) / 1000;
      log.info({ count: ids.length, durationMs: Math.round(prepSeconds * 1000) }, 'submissions prepared');

      const pids = {
        worker: worker.pid,
        ingress: ingress.pid,
        temporal: ctx.stack.serverPids.temporal,
        kafka: ctx.stack.serverPids.kafka,
      };
      const cpu = { candidate: {} as Record<string, number>, baseline: {} as Record<string, number> };
      const sample = ids.slice(0, COUNTER_SAMPLE);
      const blocks: BlockResult[] = [];

      const runBlock = async (side: 'candidate' | 'baseline', pair: number): Promise<BlockResult> => {
        const plan = planFor(pair, side === 'candidate' ? 0 : 1);
        const watched = sample.flatMap((s) => [agencyWorkflowId(s, plan.agencyId), submissionWorkflowId(s)]);
        const recordTopics = [
          TOPICS.agencyCommands,
          TOPICS.agencyReplies,
          agencyInboxTopic(plan.agencyId),
          TOPICS.submissionEvents,
          TOPICS.deadLetter,
          AUDIT_TOPIC,
        ];
        const [countersBefore, recordsBefore] = await Promise.all([
          countWorkflows(client!, watched),
          Promise.all(recordTopics.map((t) => topicRecords(admin, t))),
        ]);
        const messages: WireMessage[] =
          side === 'candidate'
            ? ids.map((id) => buildAgencyCommand({ agencyId: plan.agencyId, type: plan.type, subject: id, data: plan.data }, agencies.keys[plan.agencyId]!))
            : [];
        const eventsBefore = events.length;
        const meter = new CpuMeter({ ...pids }).start();
        const started = Date.now();
        let ended: number;
        let perCommandMs: number;
        let firstReplyMs: number | undefined;
        let rejected = 0;
        let tailLagMs: number | undefined;
        let meanGapMs: number | undefined;
        const partitionSpans: [number, number][] = [];
        const replyBytes: number[] = [];
        if (side === 'candidate') {
          await Promise.all(messages.map((m) => produceAgencyMessage(producer, m)));
          const replyIds = messages.map((m) => `${plan.agencyId}/${m.headers.ce_id}/reply`);
          const got = await until('every reply', () => {
            const r = replyIds.map((id) => replies.get(id));
            return r.every((x) => x !== undefined) ? (r as Arrival[]) : undefined;
          });
          ended = Math.max(...got.map((r) => r.at));
          tailLagMs = median(got.map((r) => r.at - r.kafkaTimestamp));
          firstReplyMs = Math.min(...got.map((r) => r.at)) - started;
          rejected = got.filter((r) => !r.type.endsWith('.accepted.v1')).length;
          replyBytes.push(...got.map((r) => r.bytes));
          // The ingress answers the commands of one partition one after the other: the gaps are its time per command.
          const gaps: number[] = [];
          for (const partition of new Set(submissions.values())) {
            const times = got
              .filter((r) => submissions.get(String(r.data.subject)) === partition)
              .map((r) => r.kafkaTimestamp)
              .sort((a, b) => a - b);
            for (let i = 1; i < times.length; i++) gaps.push(times[i]! - times[i - 1]!);
            partitionSpans.push([times[0]! - started, times[times.length - 1]! - started]);
          }
          perCommandMs = gaps.length > 0 ? median(gaps) : NaN;
          meanGapMs = gaps.length > 0 ? gaps.reduce((a, b) => a + b, 0) / gaps.length : NaN;
        } else {
          const updateName = AGENCY_COMMAND_UPDATES[plan.type];
          const timed = await timedBlock(ids.length, INGRESS_CONCURRENCY, async (i) => {
            const t = performance.now();
            try {
              await client!.workflow
                .getHandle(agencyWorkflowId(ids[i]!, plan.agencyId))
                .executeUpdate(updateName, { args: [{ ...plan.data, agencyId: plan.agencyId }], updateId: crypto.randomUUID() });
            } catch (err) {
              rejected += 1;
              log.warn({ err }, 'direct update refused');
            }
            return performance.now() - t;
          });
          ended = started + timed.seconds * 1000;
          perCommandMs = median(timed.results);
        }
        // Untimed: the status events of this block are out before the next block starts, so no work spills over.
        const blockEvents = await until('the status events of the block', () => {
          const mine = events
            .slice(eventsBefore)
            .filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentStatusChanged && e.data.agencyId === plan.agencyId && e.data.status === plan.status);
          return mine.length >= ids.length - rejected ? mine : undefined;
        });
        const blockCpu = meter.stop();
        for (const [role, seconds] of Object.entries(blockCpu)) cpu[side][role] = (cpu[side][role] ?? 0) + seconds;
        const [countersAfter, recordsAfter] = await Promise.all([
          countWorkflows(client!, watched),
          Promise.all(recordTopics.map((t) => topicRecords(admin, t))),
        ]);
        const records: Record<string, number> = {};
        recordTopics.forEach(
          (t, i) => (records[t === agencyInboxTopic(plan.agencyId) ? 'agencyReplyCopy' : t] = (recordsAfter[i]! - recordsBefore[i]!) / ids.length),
        );
        const seconds = (ended - started) / 1000;
        const result: BlockResult = {
          side,
          pair,
          type: plan.type,
          commands: ids.length,
          seconds,
          throughput: ids.length / seconds,
          rejected,
          perCommandMs,
          ...(firstReplyMs !== undefined ? { firstReplyMs, tailLagMs, partitionSpans, meanGapMs } : {}),
          counters: perCommand(countersAfter, countersBefore, sample.length),
          records,
          bytes: {
            command: messages.length > 0 ? median(messages.map(recordBytes)) : 0,
            reply: replyBytes.length > 0 ? median(replyBytes) : 0,
            statusEvent: median(blockEvents.map((e) => e.bytes)),
          },
          cpu: blockCpu,
        };
        ctx.record({ kind: 'block', ...result });
        log.info({ kind: side, attempt: pair, count: ids.length, durationMs: Math.round(seconds * 1000) }, 'block done');
        return result;
      };

      let candidatePair = 0;
      let baselinePair = 0;
      let lastRound = 0;
      while (candidatePair < maxPairs) {
        const roundStarted = Date.now();
        if (candidatePair > 0 && roundStarted + lastRound * 1.5 > ctx.deadline) break;
        const round = await alternate(
          2,
          () => runBlock('candidate', candidatePair++),
          () => runBlock('baseline', baselinePair++),
        );
        blocks.push(...round.candidate, ...round.baseline);
        lastRound = Date.now() - roundStarted;
      }
      if (blocks.some((b) => b.rejected > 0)) throw new Error(`commands were refused: ${JSON.stringify(blocks.map((b) => [b.side, b.pair, b.rejected]))}`);

      const candidates = blocks.filter((b) => b.side === 'candidate').sort((a, b) => a.pair - b.pair);
      const baselines = blocks.filter((b) => b.side === 'baseline').sort((a, b) => a.pair - b.pair);
      const ratios = candidates.map((c, i) => c.throughput / baselines[i]!.throughput);
      const ratio = ratioSummary(ratios);
      const med = (side: BlockResult[], pick: (b: BlockResult) => number) => median(side.map(pick));
      const counters: Record<string, number> = {
        commandsPerBlock: ids.length,
        'candidate.historyEventsPerCommand': med(candidates, (b) => b.counters.historyEvents),
        'baseline.historyEventsPerUpdate': med(baselines, (b) => b.counters.historyEvents),
        'candidate.historyBytesPerCommand': med(candidates, (b) => b.counters.historyBytes),
        'baseline.historyBytesPerUpdate': med(baselines, (b) => b.counters.historyBytes),
        'candidate.stateTransitionsPerCommand': med(candidates, (b) => b.counters.stateTransitions),
        'baseline.stateTransitionsPerUpdate': med(baselines, (b) => b.counters.stateTransitions),
        'candidate.kafkaRecordsPerCommand': med(candidates, (b) => Object.values(b.records).reduce((s, x) => s + x, 0)),
        'candidate.kafkaRecords.command': med(candidates, (b) => b.records[TOPICS.agencyCommands]!),
        'candidate.kafkaRecords.reply': med(candidates, (b) => b.records[TOPICS.agencyReplies]!),
        'candidate.kafkaRecords.agencyReplyCopy': med(candidates, (b) => b.records.agencyReplyCopy!),
        'candidate.kafkaRecords.statusEvent': med(candidates, (b) => b.records[TOPICS.submissionEvents]!),
        'candidate.kafkaRecords.deadLetter': med(candidates, (b) => b.records[TOPICS.deadLetter]!),
        'candidate.kafkaRecords.audit': med(candidates, (b) => b.records[AUDIT_TOPIC]!),
        'baseline.kafkaRecordsPerUpdate': med(baselines, (b) => Object.values(b.records).reduce((s, x) => s + x, 0)),
        'baseline.kafkaRecords.statusEvent': med(baselines, (b) => b.records[TOPICS.submissionEvents]!),
        'candidate.bytes.command': med(candidates, (b) => b.bytes.command!),
        'candidate.bytes.reply': med(candidates, (b) => b.bytes.reply!),
        'candidate.bytes.statusEvent': med(candidates, (b) => b.bytes.statusEvent!),
        'baseline.bytes.statusEvent': med(baselines, (b) => b.bytes.statusEvent!),
      };
      const candidateValue = med(candidates, (b) => b.throughput);
      const baselineValue = med(baselines, (b) => b.throughput);
      const ingressMs = med(candidates, (b) => b.perCommandMs);
      const directMs = med(baselines, (b) => b.perCommandMs);
      const firstReplyMs = med(candidates, (b) => b.firstReplyMs ?? NaN);
      const perCommandCpuMs = (side: 'candidate' | 'baseline', blocksOf: BlockResult[]) =>
        Object.entries(cpu[side])
          .map(([role, s]) => `${role} ${((s * 1000) / (blocksOf.length * ids.length)).toFixed(2)}`)
          .join(', ');
      const met = ratio.median >= 0.9;
      const notes = [
        `${candidates.length + baselines.length} blocks of ${ids.length} commands (one per submission, ${perPartition} submissions per command partition, ${partitions.length} partitions); pairs send the same command type (${[...new Set(candidates.map((b) => b.type.split('.')[3]))].join(', ')}); processes up in ${setupSeconds.toFixed(1)} s, preparation ${prepSeconds.toFixed(1)} s.`,
        `Block time: candidate from the produce call to the last reply read from ${TOPICS.agencyReplies}; baseline from the first to the last completed update (${INGRESS_CONCURRENCY} at a time).`,
        `CPU ms per command — candidate: ${perCommandCpuMs('candidate', candidates)}; baseline: ${perCommandCpuMs('baseline', baselines)}.`,
      ];
      // Where the candidate's block time goes: start-up to the first reply, then per-partition work, then the wait for
      // the partition that finished last.
      const spreadMs = med(candidates, (b) => {
        const ends = (b.partitionSpans ?? []).map(([, last]) => last);
        return ends.length > 0 ? Math.max(...ends) - Math.min(...ends) : NaN;
      });
      const blockMs = med(candidates, (b) => b.seconds * 1000);
      const meanGapMs = med(candidates, (b) => b.meanGapMs ?? NaN);
      notes.push(
        `Candidate block ${blockMs.toFixed(0)} ms (median): first reply after ${firstReplyMs.toFixed(0)} ms (a direct update completes after about ${directMs.toFixed(0)} ms); per partition one reply every ${ingressMs.toFixed(1)} ms at the median (gaps between reply timestamps), ${meanGapMs.toFixed(1)} ms on average; the partitions finish ${spreadMs.toFixed(0)} ms apart. Per command the ingress adds consume, signature check, two reply records with acks=all and an offset commit to the update round trip.`,
      );
      if (!met) {
        notes.push(
          `Target missed. The ingress applies up to ${INGRESS_CONCURRENCY} commands with different keys at once across all partitions, as the direct client does; per command it adds the consume, the signature check, two reply records and the audit record with acks=all and an offset commit to the update round trip, and the batch it is queued from arrives only at the next fetch.`,
        );
      }
      return {
        id: 'b',
        title: comparison.title,
        candidate: 'signed commands on Kafka through `preflight ingress` (verify, update, reply, commit)',
        baseline: `the same updates from a Temporal client, ${INGRESS_CONCURRENCY} in flight`,
        metric: 'throughput (commands/s)',
        candidateValue,
        baselineValue,
        ratio,
        target: 'ratio ≥ 0.9',
        met,
        counters,
        cpuSeconds: cpuBySide(cpu),
        notes,
      };
    } finally {
      for (const stop of stops) await stop().catch(() => undefined);
      await Promise.allSettled(processes.map((p) => p.stop()));
      await Promise.allSettled([producer.disconnect(), admin.disconnect(), client?.connection.close()]);
      fs.rmSync(registryFile, { force: true });
    }
  },
};
