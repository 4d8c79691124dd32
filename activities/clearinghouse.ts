import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from '../infra/logger';

import {
  linkDuplicateUpdate,
  setModelReleaseUpdate,
  type CaseActivities,
  type CasePolicy,
  type CaseReportInput,
  type CaseReportResult,
  type LinkDuplicateInput,
  type ModelRelease,
  type OpenClearinghouseCaseInput,
} from '../workflows/clearinghouse/contract';
import { FAILURES } from '../workflows/shared/failures';
import { DOMAIN_PATTERN } from '../wire/enums';

import { submissionStateQuery, submissionWorkflowId } from '../workflows/submission/contract';

import { deriveFingerprintKey } from '../clients/case-fingerprint';
import { openOrJoinCase } from '../clients/cases';

const clip = (text: string, max: number): string => (text.length > max ? text.slice(0, max) : text);

/** The case report for a third-party finding; the report id makes a retried activity record nothing twice. */
export function findingReport(input: OpenClearinghouseCaseInput): CaseReportInput {
  const f = input.finding;
  return {
    reportId: `finding/${input.submissionId}/${input.findingId}`,
    agencyId: input.agencyId,
    source: 'FINDING',
    affectedProduct: clip(f.affectedProduct?.trim() || f.title, 200),
    weakness: clip(f.weakness?.trim() || f.title, 500),
    submissionId: input.submissionId,
    findingId: input.findingId,
    ...(f.cweId ? { cweId: f.cweId } : {}),
    ...(f.domain && DOMAIN_PATTERN.test(f.domain) ? { domain: f.domain } : {}),
    ...(f.severity ? { severity: f.severity } : {}),
    ...(f.detail?.trim() ? { summary: clip(f.detail, 8000) } : {}),
    ...(input.plannedReleaseAt ? { plannedReleaseAt: input.plannedReleaseAt } : {}),
    ...(input.exploited !== undefined ? { exploited: input.exploited } : {}),
  };
}

export interface ClearinghouseDeps {
  temporalClient: Client;
  masterKey: Buffer;
  logger: Logger;
  /** The agencies whose registry domains include a domain (the agency registry); none when absent. */
  agenciesInDomain?: (domain: string) => string[];
  /** Periods of a case a finding opens (e.g. the report cap); the defaults when absent. */
  casePolicy?: Partial<CasePolicy>;
}

export interface SetCaseModelReleaseInput {
  caseId: string;
  submissionId: string;
  releaseAt: string;
}

/** The case activities workflows call. */
export function createClearinghouseActivities(deps: ClearinghouseDeps): CaseActivities {
  const fingerprintKey = deriveFingerprintKey(deps.masterKey);
  const logger = deps.logger.child({ component: 'clearinghouse' });
  /** The embargo follows the model's release (declared, else planned), which the submission workflow knows. */
  const plannedReleaseOf = async (submissionId: string): Promise<string | undefined> => {
    try {
      const view = await deps.temporalClient.workflow.getHandle(submissionWorkflowId(submissionId)).query(submissionStateQuery);
      return view.releasedAt ?? view.plannedReleaseAt;
    } catch (err) {
      logger.warn({ submissionId, error: (err as Error).name }, 'planned release not known; the case opens without an embargo');
      return undefined;
    }
  };
  return {
    /** Opens or joins the clearinghouse case for a third-party finding; idempotent (see {@link findingReport}). */
    async openClearinghouseCase(input: OpenClearinghouseCaseInput): Promise<CaseReportResult> {
      const plannedReleaseAt = input.plannedReleaseAt ?? (await plannedReleaseOf(input.submissionId));
      const report = findingReport({ ...input, ...(plannedReleaseAt ? { plannedReleaseAt } : {}) });
      const taskQueue = Context.current().info.taskQueue;
      let result: CaseReportResult;
      try {
        result = await openOrJoinCase(deps.temporalClient, report, {
          taskQueue,
          fingerprintKey,
          ...(deps.agenciesInDomain ? { agenciesInDomain: deps.agenciesInDomain } : {}),
          ...(deps.casePolicy ? { policy: deps.casePolicy } : {}),
        });
      } catch (err) {
        // A refused report will be refused again: fail now instead of retrying.
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause as ApplicationFailure | undefined;
          throw ApplicationFailure.create({
            message: `the case refused the report: ${cause?.message ?? err.message}`,
            type: cause?.type ?? FAILURES.caseInvalidInput.type,
            nonRetryable: true,
          });
        }
        throw err;
      }
      logger.info(
        { caseId: result.caseId, outcome: result.outcome, submissionId: input.submissionId, findingId: input.findingId },
        'finding reported to the clearinghouse',
      );
      return result;
    },

    /**
     * The current release of each model tied to a case: the declared release if it happened, else the planned one.
     * A submission that cannot be read is left out, so the case keeps the date it has.
     */
    async currentModelReleases(submissionIds: string[]): Promise<ModelRelease[]> {
      const releases: ModelRelease[] = [];
      for (const submissionId of submissionIds.slice(0, 100)) {
        try {
          const view = await deps.temporalClient.workflow.getHandle(submissionWorkflowId(submissionId)).query(submissionStateQuery);
          releases.push({ submissionId, releaseAt: view.releasedAt ?? view.plannedReleaseAt });
        } catch (err) {
          logger.warn({ submissionId, error: (err as Error).name }, 'model release not readable; the case keeps its date');
        }
      }
      return releases;
    },

    /** Hands a duplicate's reports to its primary case; fails without retry when the primary cannot take them. */
    async linkDuplicateCase(input: { primaryCaseId: string; link: LinkDuplicateInput }): Promise<void> {
      const handle = deps.temporalClient.workflow.getHandle(input.primaryCaseId);
      try {
        await handle.executeUpdate(linkDuplicateUpdate, { args: [input.link], updateId: `link/${input.link.duplicateCaseId}` });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw ApplicationFailure.create({ message: `no open case ${input.primaryCaseId}`, type: FAILURES.caseNotFound.type, nonRetryable: true });
        }
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause as ApplicationFailure | undefined;
          throw ApplicationFailure.create({
            message: `the primary case refused the link: ${cause?.message ?? err.message}`,
            type: cause?.type ?? FAILURES.caseInvalidTransition.type,
            nonRetryable: true,
          });
        }
        throw err;
      }
    },

    /** Tells a case the planned (or actual) release of a model tied to it, which moves its embargo. */
    async setCaseModelRelease(input: SetCaseModelReleaseInput): Promise<void> {
      try {
        await deps.temporalClient.workflow.getHandle(input.caseId).executeUpdate(setModelReleaseUpdate, {
          args: [{ actor: { kind: 'system', component: 'submission' }, submissionId: input.submissionId, releaseAt: input.releaseAt }],
          // The same date pushed again (an activity retry) is the same update.
          updateId: `release/${input.submissionId}/${input.releaseAt}`,
        });
      } catch (err) {
        // A case that has ended, or refuses the date, will refuse it again.
        if (err instanceof WorkflowNotFoundError) {
          throw ApplicationFailure.create({ message: `no open case ${input.caseId}`, type: FAILURES.caseNotFound.type, nonRetryable: true });
        }
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause as ApplicationFailure | undefined;
          throw ApplicationFailure.create({
            message: `the case refused the release date: ${cause?.message ?? err.message}`,
            type: cause?.type ?? FAILURES.caseInvalidTransition.type,
            nonRetryable: true,
          });
        }
        throw err;
      }
      logger.info({ caseId: input.caseId, submissionId: input.submissionId, releaseAt: input.releaseAt }, 'model release pushed to its case');
    },
  };
}
