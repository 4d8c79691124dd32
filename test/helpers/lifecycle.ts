import crypto from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LocalAccessBroker, type AccessGrantRequest } from '../../clients/access-broker';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import { createLogger } from '../../infra/logger';
import type { FindingInput, SubmissionView } from '../../wire/submission';
import { DAY_MS } from '../../workflows/shared/time';
import { SUBMISSION_STATUSES, type AgencyStatus, type SubmissionStatus } from '../../wire/enums';
import { agencyWorkflowId, submissionStateQuery, submissionWorkflowId, type SubmissionInput } from '../../workflows/submission/contract';
import { agencyStateQuery } from '../../workflows/assessment/contract';
import { SA } from '../../workflows/shared/search-attributes';
import type { submissionWorkflow } from '../../workflows/submission/workflow';

export const SIX_AGENCIES = ['nsa', 'cisa', 'treasury', 'nist', 'dod', 'dhs'];
export const MODEL_VERSION = '7.0.1';

/** The statuses of a submission that goes the whole way: every status, in lifecycle order, but RETURNED and WITHDRAWN. */
export const HAPPY_PATH_TRAIL: readonly SubmissionStatus[] = SUBMISSION_STATUSES.filter((s) => s !== 'RETURNED' && s !== 'WITHDRAWN');

/** A complete submission whose planned release is `releaseInDays` after `nowMs`. */
export function submissionInput(nowMs: number, releaseInDays: number, overrides: Partial<SubmissionInput> = {}): SubmissionInput {
  return {
    submissionId: `sub-${crypto.randomBytes(4).toString('hex')}`,
    vendorId: 'vendor-acme',
    model: { name: 'frontier-7', version: MODEL_VERSION, versionHash: `sha256:${'ab'.repeat(32)}` },
    plannedReleaseAt: new Date(nowMs + releaseInDays * DAY_MS).toISOString(),
    accessMethod: 'API',
    contacts: [{ name: 'Release Desk', email: 'release@acme.example' }],
    requestedAgencies: SIX_AGENCIES,
    ...overrides,
  };
}

/** A finding whose sensitive fields carry a marker, so tests can prove it never leaks into events or visibility. */
export function finding(severity: FindingInput['severity'], marker: string, extra: Partial<FindingInput> = {}): FindingInput {
  return {
    severity,
    domain: 'offensive-cyber',
    title: `title ${marker}`,
    detail: `detail ${marker}`,
    modelVersionTested: MODEL_VERSION,
    recommendedMitigation: `mitigation ${marker}`,
    thirdPartyVulnerability: false,
    ...extra,
  };
}

/** An access broker that records what was granted and revoked (ids only), around the real local broker. */
export class RecordingAccessBroker extends LocalAccessBroker {
  readonly granted: AccessGrantRequest[] = [];
  readonly revokedIds: string[] = [];
  constructor() {
    super({ masterKey: crypto.randomBytes(32) });
  }
  override async grant(request: AccessGrantRequest) {
    this.granted.push(request);
    return super.grant(request);
  }
  override async revoke(grantId: string, submissionId: string) {
    this.revokedIds.push(grantId);
    return super.revoke(grantId, submissionId);
  }
  grantsOf(submissionId: string): string[] {
    return this.granted.filter((g) => g.submissionId === submissionId).map((g) => g.grantId);
  }
}

/** The lifecycle activities with an in-memory publisher and a recording broker. */
export function lifecycleTestActivities() {
  const publisher = new InMemoryEventPublisher();
  const accessBroker = new RecordingAccessBroker();
  const alerts: unknown[] = [];
  const caseReports: { submissionId: string; findingId: string; agencyId: string }[] = [];
  const releasePushes: { caseId: string; submissionId: string; releaseAt: string }[] = [];
  const logger = createLogger({ level: 'silent' });
  const lifecycle = createLifecycleActivities({ logger, accessBroker });
  const activities = {
    ...createPublisherActivities({ publisher }),
    ...lifecycle,
    async notifyAgency(alert: Parameters<typeof lifecycle.notifyAgency>[0]) {
      alerts.push(alert);
      await lifecycle.notifyAgency(alert);
    },
    // Stands in for the clearinghouse (tested in its own suites): records which findings were reported.
    async openClearinghouseCase(input: { submissionId: string; findingId: string; agencyId: string }) {
      caseReports.push({ submissionId: input.submissionId, findingId: input.findingId, agencyId: input.agencyId });
      return { caseId: `case/test-${input.findingId}`, outcome: 'OPENED' };
    },
    // The release pushed to each case a finding reached (ids and dates only).
    async setCaseModelRelease(input: { caseId: string; submissionId: string; releaseAt: string }) {
      releasePushes.push(input);
    },
  };
  return { activities, publisher, accessBroker, alerts, caseReports, releasePushes };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a query until the predicate holds (real time; queries never move the test clock). */
export async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await pause(50);
  }
  throw new Error(`timed out waiting for ${what}; last=${JSON.stringify(last)} error=${String(lastError)}`);
}

export function submissionHandle(client: Client, submissionId: string): WorkflowHandle<typeof submissionWorkflow> {
  return client.workflow.getHandle(submissionWorkflowId(submissionId));
}

export async function waitForStatus(client: Client, submissionId: string, status: SubmissionStatus): Promise<SubmissionView> {
  return waitFor(
    () => submissionHandle(client, submissionId).query(submissionStateQuery),
    (v) => v.status === status,
    `submission ${status}`,
  );
}

export async function waitForAgency(client: Client, submissionId: string, agencyId: string, status: AgencyStatus) {
  return waitFor(
    () => client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId)).query(agencyStateQuery),
    (v) => v.status === status,
    `${agencyId} ${status}`,
  );
}

/** Waits until the parent has heard of every listed agency's status (reports travel by signal). */
export async function waitForParentAgencies(client: Client, submissionId: string, expected: Record<string, AgencyStatus>) {
  return waitFor(
    () => submissionHandle(client, submissionId).query(submissionStateQuery),
    (v) => Object.entries(expected).every(([a, s]) => v.agencies.find((x) => x.agencyId === a)?.status === s),
    `parent sees ${JSON.stringify(expected)}`,
  );
}

const INDEXED_TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.KEYWORD_LIST]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  [SearchAttributeType.TEXT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.INT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

/**
 * Registers every key in `SA` on a time-skipping test server (the dev server gets them at start). Workflows that
 * upsert an unknown key fail their task forever, so this must run before any worker starts.
 */
export async function registerSearchAttributes(env: TestWorkflowEnvironment, namespace = 'default'): Promise<void> {
  const searchAttributes = Object.fromEntries(Object.values(SA).map((k) => [k.name, INDEXED_TYPES[k.type]!]));
  await env.connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}
