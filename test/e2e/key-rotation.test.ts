import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { type Config } from '../../infra/config';
import { EncryptionCodec, payloadKeys, UnknownPayloadKeyError } from '../../infra/codec';
import { createLogger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { startWorker } from '../../workers/worker';
import type { RunningProcess } from '../../workers/processes';
import { agencyWorkflowId, submissionWorkflowId, withdrawUpdate } from '../../workflows/submission/contract';
import { acceptInvitationUpdate, startAssessmentUpdate, submitFindingUpdate } from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { eventually } from '../helpers/agency-events';
import { historyPayloads, payloadKeyId } from '../helpers/canary';
import { finding, submissionInput, waitForAgency, waitForParentAgencies, waitForStatus } from '../helpers/lifecycle';
import { testConfig, testStack, unique } from '../helpers/stack-env';

const logger = createLogger({ level: 'warn' });
const AGENCIES = ['nsa', 'cisa'];

interface Phase {
  config: Config;
  worker: RunningProcess;
  client: Client;
}

/** Key ids of the encrypted payloads in the given events; throws on a payload the codec did not encrypt. */
function keyIds(events: temporal.api.history.v1.IHistoryEvent[], where: string): Set<string> {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.markerRecordedEventAttributes?.markerName === 'core_patch') {
      // Temporal's core writes a patch marker itself, outside the payload codec: it may hold the patch id and nothing else.
      for (const p of historyPayloads(event))
        expect(Object.keys(JSON.parse(Buffer.from(p.data!).toString('utf8')) as object).sort()).toEqual(['deprecated', 'id']);
      continue;
    }
    for (const p of historyPayloads(event)) {
      const id = payloadKeyId(p);
      if (!id) throw new Error(`${where}: event ${String(event.eventId)} (${String(event.eventType)}) holds an unencrypted payload`);
      ids.add(id);
    }
  }
  return ids;
}

/**
 * Payload key rotation on a running deployment: runs start under key A alone; the worker and the clients restart with
 * `PREFLIGHT_PAYLOAD_KEYS=B,A`; the old runs finish and new ones start. Old histories switch from A to B at the
 * restart, new ones hold B only, everything decodes and replays with B,A, and B alone refuses A's payloads by key id.
 */
describe('payload key rotation mid-run', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('switches old runs from key A to B at the restart, and new runs use B only', async () => {
    const stack = testStack();
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    const key = () => crypto.randomBytes(32).toString('base64');
    const a = { id: unique('key-a'), key: key() };
    const b = { id: unique('key-b'), key: key() };
    const base = { PREFLIGHT_TASK_QUEUE: unique('rotation'), PREFLIGHT_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'key-rotation-')) };
    const configA = testConfig({ ...base, PREFLIGHT_PAYLOAD_KEYS: `${a.id}=${a.key}` });
    const configBA = testConfig({ ...base, PREFLIGHT_PAYLOAD_KEYS: `${b.id}=${b.key},${a.id}=${a.key}` });
    expect(configBA.payloadKeys.map((k) => k.id)).toEqual([b.id, a.id]);

    const start = async (config: Config): Promise<Phase> => {
      const worker = await startWorker(config, logger, endpoints);
      const client = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
      const phase = { config, worker, client };
      stops.push(() => stopPhase(phase));
      return phase;
    };
    const stopPhase = async (p: Phase) => {
      await p.worker.stop();
      await p.client.connection.close();
    };
    let cmd = 0;
    const agency = (client: Client, submissionId: string, agencyId: string, update: { name: string }, body: object = {}) =>
      client.workflow
        .getHandle(agencyWorkflowId(submissionId, agencyId))
        .executeUpdate(update.name, { args: [{ agencyId, ...body }], updateId: `${submissionId}-${(cmd += 1)}` });
    const begin = async (client: Client, taskQueue: string) => {
      const input = submissionInput(Date.now(), 14, { requestedAgencies: AGENCIES });
      await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] });
      await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
      await agency(client, input.submissionId, 'nsa', acceptInvitationUpdate);
      // The child reports by signal: wait until the parent took it, so no payload written under the old key reaches a
      // history after the cut below.
      await waitForParentAgencies(client, input.submissionId, { nsa: 'ACCEPTED' });
      return input.submissionId;
    };
    const workflowIds = (submissionId: string) => [submissionWorkflowId(submissionId), ...AGENCIES.map((g) => agencyWorkflowId(submissionId, g))];

    // Before: key A only.
    const reader = await connectClient(configBA.temporal, stack.temporalAddress);
    stops.push(() => reader.connection.close());
    // The dev server under load sometimes answers UNAVAILABLE; a read is simply tried again.
    const fetchHistory = (id: string) => eventually(`history of ${id}`, () => reader.workflow.getHandle(id).fetchHistory(), 30_000);
    const before = await start(configA);
    const old = [await begin(before.client, base.PREFLIGHT_TASK_QUEUE), await begin(before.client, base.PREFLIGHT_TASK_QUEUE)];
    await stopPhase(before);
    stops.pop();
    // Where each old history stood when A stopped being the encrypting key.
    const cut = new Map<string, number>();
    for (const id of old.flatMap(workflowIds)) cut.set(id, (await fetchHistory(id)).events!.length);

    // After: B encrypts, A still decrypts. The old runs go on and finish; a new one starts and finishes.
    const after = await start(configBA);
    await agency(after.client, old[0]!, 'nsa', startAssessmentUpdate);
    await waitForAgency(after.client, old[0]!, 'nsa', 'IN_PROGRESS');
    await agency(after.client, old[0]!, 'nsa', submitFindingUpdate, { finding: finding('HIGH', 'rotation') });
    await agency(after.client, old[1]!, 'cisa', acceptInvitationUpdate);
    const fresh = await begin(after.client, base.PREFLIGHT_TASK_QUEUE);
    for (const id of [...old, fresh]) {
      const handle = after.client.workflow.getHandle<typeof submissionWorkflow>(submissionWorkflowId(id));
      await handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'rotation test' }] });
      expect((await handle.result()).status).toBe('WITHDRAWN');
    }

    const histories: Array<{ workflowId: string; history: temporal.api.history.v1.IHistory }> = [];
    for (const id of [...old, fresh].flatMap(workflowIds)) histories.push({ workflowId: id, history: await fetchHistory(id) });
    const aPayloads: Payload[] = [];
    const allPayloads: Payload[] = [];
    for (const { workflowId, history } of histories) {
      const events = history.events!;
      const at = cut.get(workflowId);
      if (at === undefined) {
        expect({ workflowId, keys: [...keyIds(events, workflowId)] }).toEqual({ workflowId, keys: [b.id] });
      } else {
        expect({ workflowId, keys: [...keyIds(events.slice(0, at), workflowId)] }).toEqual({ workflowId, keys: [a.id] });
        expect({ workflowId, keys: [...keyIds(events.slice(at), workflowId)] }).toEqual({ workflowId, keys: [b.id] });
        aPayloads.push(...events.slice(0, at).flatMap((e) => historyPayloads(e)));
      }
      allPayloads.push(...historyPayloads(history));
    }
    expect(aPayloads.length).toBeGreaterThan(0);

    // Every payload decodes with B,A; B alone names the key it lacks.
    const masterKey = resolveMasterKey(configBA.masterKey, configBA.stack.dataDir);
    const decoded = await new EncryptionCodec(payloadKeys(configBA.payloadKeys, masterKey)).decode(allPayloads);
    expect(decoded.every((p) => payloadKeyId(p) === undefined)).toBe(true);
    const onlyB = new EncryptionCodec(payloadKeys([{ id: b.id, key: b.key }], masterKey));
    await expect(onlyB.decode(aPayloads.slice(0, 1))).rejects.toThrow(UnknownPayloadKeyError);
    await expect(onlyB.decode(aPayloads.slice(0, 1))).rejects.toThrow(`payload encrypted with unknown key id "${a.id}"`);

    // Both old and new histories replay with the B,A converter, without nondeterminism.
    const results: Array<{ workflowId: string; error: unknown }> = [];
    for await (const r of Worker.runReplayHistories(
      { workflowsPath: require.resolve('../../workflows'), dataConverter: deploymentDataConverter(configBA), replayName: 'rotation' },
      histories,
    )) {
      results.push({ workflowId: r.workflowId, error: r.error });
    }
    expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
    // And replay does depend on the keys: the same history that replays with B,A fails with A alone (the failure's
    // own message stays encrypted, so only the fact of failure is visible).
    const freshHistory = histories.find((h) => h.workflowId === submissionWorkflowId(fresh))!;
    await expect(
      Worker.runReplayHistory(
        { workflowsPath: require.resolve('../../workflows'), dataConverter: deploymentDataConverter(configA), replayName: 'rotation-a-only' },
        freshHistory.history,
        freshHistory.workflowId,
      ),
    ).rejects.toThrow(/Replay failed due workflow task failure.*Encoded failure/);
  });
});
