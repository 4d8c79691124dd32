/**
 * Comparison (f): command → reply latency as an agency sees it. Candidate: the agency signs an information request,
 * produces it to `preflight.agency-commands.v1` with its own Kafka login, the real `preflight ingress` process verifies
 * it, runs the Temporal update and writes the reply, and the agency reads the reply from its own inbox topic
 * (`preflight.agency-inbox.<agency>.v1`, through its own login and ACLs). Latency = from just before the produce call
 * to the moment the agency's consumer hands over the reply for that command id. Baseline: the same update sent
 * straight to the assessment workflow by a Temporal client; latency = the update's round trip. Both open loop at half
 * the candidate's measured maximum sustained rate, in alternating ABBA blocks.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { buildAgencyCommand, produceAgencyMessage } from '../events/agency-client';
import { agencyKafka, readAgencyKafkaLogin } from '../events/agency-login';
import { REPLY_TYPES } from '../events/catalog';
import { tailTopic } from '../events/consumer';
import { headersToStrings } from '../events/envelope';
import { agencyGroupPrefix } from '../events/kafka-acls';
import { createKafka } from '../events/kafka';
import { agencyInboxTopic, TOPICS } from '../events/topics';
import { connectClient, deploymentDataConverter } from '../infra/temporal';
import { agencyKafkaLoginFile } from '../stack/dev-credentials';
import { DEFAULT_INGRESS_GROUP } from '../workers/ingress/index';
import { acceptInvitationUpdate, requestInfoUpdate, startAssessmentUpdate } from '../workflows/assessment/contract';
import { agencyWorkflowId, submissionWorkflowId, SUBMISSION_EVENT_TYPES } from '../workflows/submission/contract';
import { agencyKeys, startGroupAtEnd } from '../test/helpers/agency-events';
import { submissionInput } from '../test/helpers/lifecycle';
import { mapBounded, pollUntil } from './lib/blocks';
import { CpuMeter } from './lib/cpu';
import { atRate, sustained, type RateStep } from './lib/rate';
import { alternate, median, percentile, ratioSummary } from './lib/stats';
import type { BenchContext, Comparison, ComparisonResult } from './lib/types';
import { recordBytes, topicRecords } from './kafka-counters';
import { cpuBySide, startConsumerProcess, type BenchProcess } from './preflight-processes';
import { startBenchWorker, type BenchWorker } from './lib/worker';

const REQUEST_INFO = 'gov.preflight.assessment.request-info.v1';
const QUESTION = 'Which tools can the model call?';
/** The agency whose commands go through Kafka, and the one whose identical updates go straight to Temporal. */
const CANDIDATE_AGENCY = 'nsa';
const BASELINE_AGENCY = 'cisa';
/** How long one command may wait for its reply before it counts as lost. */
const REPLY_WAIT_MS = 60_000;

/** A reply as the agency read it from its inbox. */
interface InboxReply {
  /** When the agency's consumer handed it over (epoch ms). */
  at: number;
  /** The Kafka record timestamp the ingress's producer set. */
  recordAt: number;
  /** The reply's `ce_time`: when the ingress built it, after the update returned. */
  builtAt: number;
  accepted: boolean;
  bytes: number;
}

/** One command or update of a block, with its timings. */
interface Sample {
  /** Command id (candidate) or update id (baseline): the update id in the assessment's history either way. */
  id: string;
  submissionId: string;
  sentAt: number;
  /** Candidate: when the produce call returned (acks=all). */
  producedAt?: number;
  /** When the agency had its answer: the reply read (candidate), the update's result (baseline). */
  doneAt?: number;
  reply?: InboxReply;
  refused?: boolean;
}

interface LatencyBlock extends RateStep {
  side: 'candidate' | 'baseline';
  rate: number;
  p50: number;
  p99: number;
  refused: number;
  samples: Sample[];
  /** Records per command on each topic this side writes to (offset growth / commands). */
  records: Record<string, number>;
  cpu: Record<string, number>;
}

/** The agency's inbox, read with its own login: replies by command id, and waiters for the ones still to come. */
class AgencyInbox {
  readonly replies = new Map<string, InboxReply>();
  private readonly waiters = new Map<string, (reply: InboxReply | undefined) => void>();
  private stopTail?: () => Promise<void>;

  constructor(
    private readonly kafka: Kafka,
    private readonly agencyId: string,
  ) {}

  async start(): Promise<void> {
    const tail = await tailTopic(this.kafka, agencyInboxTopic(this.agencyId), (m) => this.take(m), {
      groupPrefix: `${agencyGroupPrefix(this.agencyId)}bench-reply`,
    });
    this.stopTail = () => tail.stop();
  }

  private take(m: KafkaMessage): void {
    const at = Date.now();
    let headers: Record<string, string>;
    try {
      headers = headersToStrings(m.headers);
    } catch {
      return;
    }
    const type = headers.ce_type ?? '';
    if (type !== REPLY_TYPES.accepted && type !== REPLY_TYPES.rejected) return;
    let commandId: string | undefined;
    try {
      commandId = (JSON.parse(m.value?.toString() ?? '{}') as { commandId?: string }).commandId;
    } catch {
      return;
    }
    if (!commandId) return;
    const reply: InboxReply = {
      at,
      recordAt: Number(m.timestamp),
      builtAt: Date.parse(headers.ce_time ?? ''),
      accepted: type === REPLY_TYPES.accepted,
      bytes: recordBytes(m),
    };
    this.replies.set(commandId, reply);
    const waiter = this.waiters.get(commandId);
    if (waiter) {
      this.waiters.delete(commandId);
      waiter(reply);
    }
  }

  /** Resolves with the reply to `commandId` once read, or undefined after `timeoutMs`. Call before producing. */
  wait(commandId: string, timeoutMs: number): Promise<InboxReply | undefined> {
    const got = this.replies.get(commandId);
    if (got) return Promise.resolve(got);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(commandId);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(commandId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  async stop(): Promise<void> {
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter(undefined);
    }
    await this.stopTail?.();
  }
}

/** When each update of an assessment was accepted and completed in its history (server time, epoch ms), by update id. */
async function updateTimes(client: Client, workflowId: string): Promise<Map<string, { accepted?: number; completed?: number }>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const times = new Map<string, { accepted?: number; completed?: number }>();
  for (const e of history.events ?? []) {
    const at = e.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) : NaN;
    const acceptedId = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
    const completedId = e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId;
    if (acceptedId) times.set(acceptedId, { ...times.get(acceptedId), accepted: at });
    if (completedId) times.set(completedId, { ...times.get(completedId), completed: at });
  }
  return times;
}

function summarize(side: LatencyBlock['side'], rate: number, samples: Sample[], measured: Pick<LatencyBlock, 'drainMs' | 'records' | 'cpu'>): LatencyBlock {
  const latencies = samples.filter((s) => s.doneAt !== undefined && !s.refused).map((s) => s.doneAt! - s.sentAt);
  return {
    side,
    rate,
    sent: samples.length,
    delivered: latencies.length,
    latencies,
    p50: latencies.length ? percentile(latencies, 50) : NaN,
    p99: latencies.length ? percentile(latencies, 99) : NaN,
    refused: samples.filter((s) => s.refused).length,
    samples,
    ...measured,
  };
}

/** The distinct messages of a process log's warning and error lines (pino JSON), with how often each came. */
function logWarnings(file: string): { count: number; messages: string[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { count: 0, messages: [] };
  }
  const seen = new Map<string, number>();
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: string | number; msg?: string };
      const level = typeof entry.level === 'number' ? entry.level : ({ warn: 40, error: 50, fatal: 60 }[String(entry.level)] ?? 0);
      if (level < 40) continue;
      count += 1;
      const msg = String(entry.msg ?? '').slice(0, 120);
      seen.set(msg, (seen.get(msg) ?? 0) + 1);
    } catch {
      // not a log entry
    }
  }
  return { count, messages: [...seen].map(([m, n]) => `${n}× ${m}`) };
}

/** Median of the finite values, NaN when there are none. */
function medianOf(xs: number[]): number {
  const finite = xs.filter(Number.isFinite);
  return finite.length > 0 ? median(finite) : NaN;
}

export const comparison: Comparison = {
  id: 'f',
  title: 'Agency command → reply latency vs a direct update round trip',
  async run(ctx: BenchContext): Promise<ComparisonResult> {
    const began = Date.now();
    const quick = ctx.mode === 'quick';
    const log = ctx.logger.child({ component: 'bench-reply' });
    const suffix = crypto.randomBytes(4).toString('hex');
    const taskQueue = `bench-reply-${suffix}`;
    const agencies = agencyKeys([CANDIDATE_AGENCY, BASELINE_AGENCY]);
    const registryFile = path.join(ctx.stack.dataDir, `${taskQueue}-agencies.json`);
    fs.writeFileSync(registryFile, JSON.stringify(agencies.document));

    // The bench's own view of Kafka (record counts, preparation), and the candidate agency's login, as it works.
    const kafka = createKafka(ctx.config.kafka, ctx.logger, ctx.stack.kafkaBrokers, 'bench-reply');
    const admin = kafka.admin();
    const login = readAgencyKafkaLogin(agencyKafkaLoginFile(ctx.stack.dataDir, CANDIDATE_AGENCY));
    const agencyClient = agencyKafka(login, ctx.logger, `bench-reply-${CANDIDATE_AGENCY}`);
    const producer: Producer = agencyClient.producer();
    const inbox = new AgencyInbox(agencyClient, CANDIDATE_AGENCY);
    const processes: (BenchProcess | BenchWorker)[] = [];
    const stops: (() => Promise<unknown>)[] = [];
    let client: Client | undefined;
    try {
      await Promise.all([admin.connect(), producer.connect()]);
      // The ingress's group reads only what this comparison sends, whatever the topic held before.
      await startGroupAtEnd(kafka, DEFAULT_INGRESS_GROUP);
      const [worker, ingress] = await Promise.all([
        startBenchWorker(ctx, { taskQueue }),
        startConsumerProcess(ctx, { role: 'f-ingress', command: 'ingress', env: { PREFLIGHT_AGENCY_REGISTRY: registryFile }, groupId: DEFAULT_INGRESS_GROUP }),
      ]);
      processes.push(worker, ingress);
      client = await connectClient(ctx.config.temporal, ctx.stack.temporalAddress, deploymentDataConverter(ctx.config));
      await inbox.start();
      stops.push(() => inbox.stop());

      // ---- preparation: submissions whose two assessments are in progress, so information requests may repeat.
      // Consecutive commands go to different submissions (each submission is one key: the ingress applies one key's
      // commands one at a time, in order).
      const submissionIds = Array.from({ length: quick ? 8 : 24 }, () => `bench-f-${crypto.randomBytes(5).toString('hex')}`);
      const invited = new Set<string>();
      const eventTail = await tailTopic(
        kafka,
        TOPICS.submissionEvents,
        (m) => {
          const h = headersToStrings(m.headers);
          if (h.ce_type !== SUBMISSION_EVENT_TYPES.assessmentStatusChanged) return;
          const d = JSON.parse(m.value?.toString() ?? '{}') as { submissionId?: string; agencyId?: string; status?: string };
          if (d.status === 'INVITED') invited.add(`${d.submissionId}|${d.agencyId}`);
        },
        { groupPrefix: 'bench-reply' },
      );
      const setupSeconds = (Date.now() - began) / 1000;
      const prepStarted = Date.now();
      try {
        await mapBounded(submissionIds.length, 6, async (i) => {
          const input = submissionInput(Date.now(), 20, { submissionId: submissionIds[i]!, requestedAgencies: [CANDIDATE_AGENCY, BASELINE_AGENCY] });
          await client!.workflow.start('submissionWorkflow', { args: [input], taskQueue, workflowId: submissionWorkflowId(input.submissionId) });
        });
        await pollUntil(async () => (invited.size >= submissionIds.length * 2 ? true : undefined), 'every assessment invited', 120_000, 50);
      } finally {
        await eventTail.stop();
      }
      const assessments = submissionIds.flatMap((s) => [CANDIDATE_AGENCY, BASELINE_AGENCY].map((agencyId) => ({ submissionId: s, agencyId })));
      await mapBounded(assessments.length, 8, async (i) => {
        const { submissionId, agencyId } = assessments[i]!;
        const handle = client!.workflow.getHandle(agencyWorkflowId(submissionId, agencyId));
        await handle.executeUpdate(acceptInvitationUpdate, { args: [{ agencyId }] });
        await handle.executeUpdate(startAssessmentUpdate, { args: [{ agencyId }] });
      });
      const prepSeconds = (Date.now() - prepStarted) / 1000;
      log.info({ count: submissionIds.length, durationMs: Math.round(prepSeconds * 1000) }, 'submissions prepared');

      const pids = { worker: worker.pid, ingress: ingress.pid, temporal: ctx.stack.serverPids.temporal, kafka: ctx.stack.serverPids.kafka };
      const candidateTopics = [TOPICS.agencyCommands, TOPICS.agencyReplies, agencyInboxTopic(CANDIDATE_AGENCY), TOPICS.submissionEvents, TOPICS.deadLetter];
      const baselineTopics = [agencyInboxTopic(BASELINE_AGENCY), TOPICS.submissionEvents];
      const countRecords = (topics: string[]) => Promise.all(topics.map((t) => topicRecords(admin, t)));
      const perCommand = (topics: string[], before: number[], after: number[], n: number) =>
        Object.fromEntries(
          topics.map((t, i) => [
            t === agencyInboxTopic(CANDIDATE_AGENCY) || t === agencyInboxTopic(BASELINE_AGENCY) ? 'agencyInbox' : t,
            (after[i]! - before[i]!) / n,
          ]),
        );
      let nextCandidate = 0;
      let nextBaseline = 0;
      const commandBytes: number[] = [];

      const runCandidate = async (rate: number, seconds: number): Promise<LatencyBlock> => {
        const before = await countRecords(candidateTopics);
        const meter = new CpuMeter({ ...pids }).start();
        const samples: Sample[] = [];
        const { drainMs } = await atRate(rate, seconds, async () => {
          const submissionId = submissionIds[nextCandidate++ % submissionIds.length]!;
          // Signed before the clock starts: the agency's own work, not the path measured.
          const message = buildAgencyCommand(
            { agencyId: CANDIDATE_AGENCY, type: REQUEST_INFO, subject: submissionId, data: { question: QUESTION } },
            agencies.keys[CANDIDATE_AGENCY]!,
          );
          const id = message.headers.ce_id!;
          const sample: Sample = { id, submissionId, sentAt: 0 };
          samples.push(sample);
          if (commandBytes.length < 1000) commandBytes.push(recordBytes(message));
          const replied = inbox.wait(id, REPLY_WAIT_MS);
          sample.sentAt = Date.now();
          await produceAgencyMessage(producer, message);
          sample.producedAt = Date.now();
          const reply = await replied;
          if (!reply) return;
          sample.reply = reply;
          sample.doneAt = reply.at;
          sample.refused = !reply.accepted;
        });
        const cpu = meter.stop();
        const after = await countRecords(candidateTopics);
        return summarize('candidate', rate, samples, { drainMs, cpu, records: perCommand(candidateTopics, before, after, samples.length) });
      };

      const runBaseline = async (rate: number, seconds: number): Promise<LatencyBlock> => {
        const before = await countRecords(baselineTopics);
        const meter = new CpuMeter({ ...pids }).start();
        const samples: Sample[] = [];
        const { drainMs } = await atRate(rate, seconds, async () => {
          const submissionId = submissionIds[nextBaseline++ % submissionIds.length]!;
          const sample: Sample = { id: crypto.randomUUID(), submissionId, sentAt: Date.now() };
          samples.push(sample);
          try {
            await client!.workflow
              .getHandle(agencyWorkflowId(submissionId, BASELINE_AGENCY))
              .executeUpdate(requestInfoUpdate, { args: [{ agencyId: BASELINE_AGENCY, question: QUESTION }], updateId: sample.id });
          } catch (err) {
            sample.refused = true;
            log.warn({ err }, 'direct update refused');
          }
          sample.doneAt = Date.now();
        });
        const cpu = meter.stop();
        const after = await countRecords(baselineTopics);
        return summarize('baseline', rate, samples, { drainMs, cpu, records: perCommand(baselineTopics, before, after, samples.length) });
      };

      // ---- the candidate's maximum sustained rate: double the rate until a step is not kept up with; the time the
      // alternating blocks need afterwards is kept free.
      // Warm-up, not measured: the first commands pay for connections, fetch sessions and compilation on every side.
      await runCandidate(4, 1);
      await runBaseline(4, 1);
      const startRate = 4;
      const stepSeconds = quick ? 2.5 : 5;
      const blockSeconds = quick ? 3 : 20;
      const maxPairs = quick ? 2 : 4;
      const reservedMs = (2 * maxPairs * (blockSeconds + 1) + 4) * 1000;
      const ramp: LatencyBlock[] = [];
      let maxRate = 0;
      for (let rate = startRate; rate <= 256 && (ramp.length === 0 || Date.now() + (stepSeconds + 2) * 1000 < ctx.deadline - reservedMs); rate *= 2) {
        const step = await runCandidate(rate, stepSeconds);
        ramp.push(step);
        ctx.record({
          kind: 'ramp',
          rate,
          sent: step.sent,
          delivered: step.delivered,
          p50: step.p50,
          p99: step.p99,
          drainMs: step.drainMs,
          sustained: sustained(step),
        });
        if (!sustained(step)) break;
        maxRate = rate;
      }
      // The last step overloads on purpose: its replies are all read, but the work each command leaves behind (status
      // and inbox events published by the submissions) may still be queued. The blocks start once the status events
      // stop coming (at most 15 s).
      let settleMs = Date.now();
      let lastCount = -1;
      await pollUntil(
        async () => {
          const count = await topicRecords(admin, TOPICS.submissionEvents);
          const settled = count === lastCount;
          lastCount = count;
          return settled ? true : undefined;
        },
        'the ramp to settle',
        15_000,
        750,
      ).catch(() => undefined);
      settleMs = Date.now() - settleMs;
      const rampCut = ramp.length > 0 && sustained(ramp[ramp.length - 1]!);
      const rate = Math.max(1, maxRate / 2);
      const loadAtRamp = os.loadavg()[0]!;
      log.info({ count: ramp.length, size: rate }, 'ramp done');

      // ---- alternating blocks at half the maximum rate
      const blocks: LatencyBlock[] = [];
      let lastRound = 0;
      while (blocks.length < 2 * maxPairs) {
        const roundStarted = Date.now();
        if (blocks.length > 0 && roundStarted + lastRound * 1.3 > ctx.deadline) break;
        const round = await alternate(
          2,
          () => runCandidate(rate, blockSeconds),
          () => runBaseline(rate, blockSeconds),
        );
        for (const b of [...round.candidate, ...round.baseline]) {
          blocks.push(b);
          ctx.record({
            kind: 'block',
            side: b.side,
            rate: b.rate,
            sent: b.sent,
            delivered: b.delivered,
            refused: b.refused,
            p50: b.p50,
            p99: b.p99,
            cpu: b.cpu,
          });
        }
        lastRound = Date.now() - roundStarted;
      }
      const candidates = blocks.filter((b) => b.side === 'candidate');
      const baselines = blocks.filter((b) => b.side === 'baseline');
      const lost = candidates.reduce((n, b) => n + b.sent - b.delivered - b.refused, 0);
      const refused = blocks.reduce((n, b) => n + b.refused, 0);

      // ---- where the time goes: each update's acceptance and completion in its assessment's history (server clock,
      // same host), against the send time, the ingress's reply time and the agency's read
      const historyOf = async (agencyId: string) => {
        const all = new Map<string, { accepted?: number; completed?: number }>();
        const per = await mapBounded(submissionIds.length, 4, (i) => updateTimes(client!, agencyWorkflowId(submissionIds[i]!, agencyId)));
        for (const m of per) for (const [k, v] of m) all.set(k, v);
        return all;
      };
      const [candidateUpdates, baselineUpdates] = await Promise.all([historyOf(CANDIDATE_AGENCY), historyOf(BASELINE_AGENCY)]);
      const measured = (side: LatencyBlock[]) => side.flatMap((b) => b.samples).filter((s) => s.doneAt !== undefined && !s.refused);
      const stage = (samples: Sample[], updates: typeof candidateUpdates, pick: (s: Sample, u: { accepted?: number; completed?: number }) => number) =>
        medianOf(samples.map((s) => (updates.has(s.id) ? pick(s, updates.get(s.id)!) : NaN)));
      const c = measured(candidates);
      const b = measured(baselines);
      const stages = {
        'candidate.stageMs.produceCall': medianOf(c.map((s) => s.producedAt! - s.sentAt)),
        'candidate.stageMs.sentToUpdateAccepted': stage(c, candidateUpdates, (s, u) => u.accepted! - s.sentAt),
        'candidate.stageMs.updateAcceptedToCompleted': stage(c, candidateUpdates, (_, u) => u.completed! - u.accepted!),
        'candidate.stageMs.updateCompletedToReplyBuilt': stage(c, candidateUpdates, (s, u) => s.reply!.builtAt - u.completed!),
        'candidate.stageMs.replyBuiltToRecord': medianOf(c.map((s) => s.reply!.recordAt - s.reply!.builtAt)),
        'candidate.stageMs.replyRecordToRead': medianOf(c.map((s) => s.reply!.at - s.reply!.recordAt)),
        'baseline.stageMs.sentToUpdateAccepted': stage(b, baselineUpdates, (s, u) => u.accepted! - s.sentAt),
        'baseline.stageMs.updateAcceptedToCompleted': stage(b, baselineUpdates, (_, u) => u.completed! - u.accepted!),
        'baseline.stageMs.updateCompletedToResult': stage(b, baselineUpdates, (s, u) => s.doneAt! - u.completed!),
      };
      const foundInHistory = c.filter((s) => candidateUpdates.has(s.id)).length;
      // The slowest twentieth of the candidate's commands, stage by stage: where its tail comes from.
      const tailFrom =
        c.length > 0
          ? percentile(
              c.map((s) => s.doneAt! - s.sentAt),
              95,
            )
          : Infinity;
      const slow = c.filter((s) => s.doneAt! - s.sentAt >= tailFrom);
      const tailStages = {
        'candidate.tailStageMs.sentToUpdateAccepted': stage(slow, candidateUpdates, (s, u) => u.accepted! - s.sentAt),
        'candidate.tailStageMs.updateCompletedToRead': stage(slow, candidateUpdates, (s, u) => s.doneAt! - u.completed!),
      };
      const slowDirect = b.filter(
        (s) =>
          s.doneAt! - s.sentAt >=
          (b.length > 0
            ? percentile(
                b.map((x) => x.doneAt! - x.sentAt),
                95,
              )
            : Infinity),
      );
      const directTailAccepted = stage(slowDirect, baselineUpdates, (s, u) => u.accepted! - s.sentAt);

      const cpu = { candidate: {} as Record<string, number>, baseline: {} as Record<string, number> };
      for (const block of blocks) for (const [role, s] of Object.entries(block.cpu)) cpu[block.side][role] = (cpu[block.side][role] ?? 0) + s;
      const pooled = (side: LatencyBlock[]) => side.flatMap((x) => x.latencies);
      const candidateP50 = percentile(pooled(candidates), 50);
      const candidateP99 = percentile(pooled(candidates), 99);
      const baselineP50 = percentile(pooled(baselines), 50);
      const baselineP99 = percentile(pooled(baselines), 99);
      const ratio = ratioSummary(candidates.map((x, i) => x.p99 / baselines[i]!.p99));
      const met = lost === 0 && refused === 0 && candidateP99 <= 150 && candidateP50 <= 50;
      const recordsMedian = (side: LatencyBlock[], key: string) => median(side.map((x) => x.records[key] ?? 0));
      const perCommandCpuMs = (side: 'candidate' | 'baseline', of: LatencyBlock[]) =>
        Object.entries(cpu[side])
          .map(([role, s]) => `${role} ${((s * 1000) / of.reduce((n, x) => n + x.sent, 0)).toFixed(2)}`)
          .join(', ');
      const replyBytes = medianOf(c.map((s) => s.reply!.bytes));
      const counters: Record<string, number> = {
        maxSustainedRate: maxRate,
        rate,
        commandsPerBlock: median(blocks.map((x) => x.sent)),
        'candidate.p50Ms': candidateP50,
        'candidate.p99Ms': candidateP99,
        'baseline.p50Ms': baselineP50,
        'baseline.p99Ms': baselineP99,
        'candidate.kafkaRecords.command': recordsMedian(candidates, TOPICS.agencyCommands),
        'candidate.kafkaRecords.reply': recordsMedian(candidates, TOPICS.agencyReplies),
        'candidate.kafkaRecords.agencyInbox': recordsMedian(candidates, 'agencyInbox'),
        'candidate.kafkaRecords.statusEvent': recordsMedian(candidates, TOPICS.submissionEvents),
        'candidate.kafkaRecords.deadLetter': recordsMedian(candidates, TOPICS.deadLetter),
        'baseline.kafkaRecords.agencyInbox': recordsMedian(baselines, 'agencyInbox'),
        'baseline.kafkaRecords.statusEvent': recordsMedian(baselines, TOPICS.submissionEvents),
        'candidate.bytes.command': medianOf(commandBytes),
        'candidate.bytes.reply': replyBytes,
        ...stages,
        ...tailStages,
        'baseline.tailStageMs.sentToUpdateAccepted': directTailAccepted,
        lostReplies: lost,
        refused,
      };
      const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
      const notes = [
        `Ramp (${stepSeconds} s steps, rates doubling from ${startRate}/s): ${ramp.map((s) => `${s.rate}/s p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms${sustained(s) ? '' : ' (not sustained)'}`).join('; ')}. ${maxRate > 0 ? `Maximum sustained ${maxRate}/s` : 'Not even the first step was sustained'}${rampCut ? ' (the time budget ended the ramp first: a lower bound)' : ''}; the ramp's leftover work settled in ${(settleMs / 1000).toFixed(1)} s; blocks run at ${rate}/s for ${blockSeconds} s, ${candidates.length + baselines.length} blocks; ${submissionIds.length} submissions, consecutive commands to different ones; processes up in ${setupSeconds.toFixed(1)} s, preparation ${prepSeconds.toFixed(1)} s.`,
        `Candidate: \`${REQUEST_INFO}\` signed by ${CANDIDATE_AGENCY}, produced with its own SASL login (acks=all), answered by \`preflight ingress\`; latency from just before the produce call to the reply for that command id read from ${agencyInboxTopic(CANDIDATE_AGENCY)} by the agency's own consumer. Baseline: the same \`requestInfo\` update on ${BASELINE_AGENCY}'s assessments from a Temporal client; latency = \`executeUpdate\`'s round trip. Same host clock for both.`,
        `Pooled over blocks — candidate p50 ${fmt(candidateP50)} ms, p99 ${fmt(candidateP99)} ms; direct update p50 ${fmt(baselineP50)} ms, p99 ${fmt(baselineP99)} ms.`,
        `Where the candidate's time goes (medians over ${foundInHistory} commands whose update was found in the assessment's history; update times are the dev server's history event times): produce call ${fmt(stages['candidate.stageMs.produceCall'])} ms; sent → update accepted in the workflow ${fmt(stages['candidate.stageMs.sentToUpdateAccepted'])} ms (produce, the ingress's fetch, signature check, the update's dispatch and the workflow task); accepted → completed ${fmt(stages['candidate.stageMs.updateAcceptedToCompleted'])} ms; completed → reply built by the ingress ${fmt(stages['candidate.stageMs.updateCompletedToReplyBuilt'])} ms (the update result back through the server); reply built → its record timestamp ${fmt(stages['candidate.stageMs.replyBuiltToRecord'])} ms; record → read by the agency ${fmt(stages['candidate.stageMs.replyRecordToRead'])} ms (acks=all on the reply and inbox records, the agency's fetch). Direct update: sent → accepted ${fmt(stages['baseline.stageMs.sentToUpdateAccepted'])} ms, completed → result at the client ${fmt(stages['baseline.stageMs.updateCompletedToResult'])} ms.`,
        `The tail (the slowest 5 %: ${slow.length} of ${c.length} candidate commands, from ${fmt(tailFrom)} ms): sent → update accepted ${fmt(tailStages['candidate.tailStageMs.sentToUpdateAccepted'])} ms, update completed → reply read ${fmt(tailStages['candidate.tailStageMs.updateCompletedToRead'])} ms at their median; the slowest 5 % of direct updates waited ${fmt(directTailAccepted)} ms to be accepted.`,
        `CPU ms per command — candidate: ${perCommandCpuMs('candidate', candidates)}; direct: ${perCommandCpuMs('baseline', baselines)}. Load average ${loadAtRamp.toFixed(1)} when the ramp ended.`,
      ];
      const ingressWarnings = logWarnings(ingress.logFile);
      counters['ingress.logWarnings'] = ingressWarnings.count;
      notes.push(
        `Blocks in order, p50/p99 ms — candidate: ${candidates.map((x) => `${fmt(x.p50)}/${fmt(x.p99)}`).join(', ')}; direct: ${baselines.map((x) => `${fmt(x.p50)}/${fmt(x.p99)}`).join(', ')}. The ingress logged ${ingressWarnings.count} warnings or errors${ingressWarnings.messages.length > 0 ? `: ${ingressWarnings.messages.slice(0, 4).join('; ')}` : ''}.`,
      );
      if (lost > 0) notes.push(`${lost} commands got no reply within ${REPLY_WAIT_MS / 1000} s.`);
      if (refused > 0) notes.push(`${refused} commands or updates were refused.`);
      if (!met) {
        const kafkaSide = stages['candidate.stageMs.sentToUpdateAccepted'] - stages['baseline.stageMs.sentToUpdateAccepted'];
        const missed = [candidateP50 > 50 ? `p50 ${fmt(candidateP50)} ms > 50` : '', candidateP99 > 150 ? `p99 ${fmt(candidateP99)} ms > 150` : '']
          .filter(Boolean)
          .join(', ');
        notes.push(
          `Target missed (${missed || 'commands lost or refused'}). The direct update alone takes p50 ${fmt(baselineP50)} ms and p99 ${fmt(baselineP99)} ms: every command runs one update through the dev server (a workflow task on the worker) before its reply, so the update's own tail is a floor of the candidate's. At the median the Kafka path adds about ${fmt(kafkaSide)} ms before the update is accepted (produce, the ingress's fetch and verification) and ${fmt(stages['candidate.stageMs.updateCompletedToReplyBuilt'] + stages['candidate.stageMs.replyBuiltToRecord'] + stages['candidate.stageMs.replyRecordToRead'])} ms after it completes (result back to the ingress, reply records with acks=all, the agency's fetch).`,
        );
      }
      return {
        id: 'f',
        title: comparison.title,
        candidate: 'signed command on Kafka (agency login) → `preflight ingress` (verify, update, reply) → reply read from the agency inbox',
        baseline: 'the same update from a Temporal client, `executeUpdate` round trip',
        metric: 'p99 latency (ms), pooled',
        candidateValue: candidateP99,
        baselineValue: baselineP99,
        ratio,
        target: 'p99 ≤ 150 ms and p50 ≤ 50 ms at half load',
        met,
        counters,
        cpuSeconds: cpuBySide(cpu),
        notes,
      };
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      await Promise.allSettled(processes.map((p) => p.stop()));
      await Promise.allSettled([producer.disconnect(), admin.disconnect(), client?.connection.close()]);
      fs.rmSync(registryFile, { force: true });
    }
  },
};
