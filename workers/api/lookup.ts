import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { ID_PATTERN } from '../../wire/enums';
import { submissionWorkflowId } from '../../workflows/submission/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { SUBMISSION_KIND, visibilityQuery, type SubmissionFilter, type SubmissionListItem, type SubmissionPage } from './submission-list';
import type { Principal } from './auth';
import { problems } from './problems';

export { SUBMISSION_KIND, visibilityQuery, type SubmissionFilter, type SubmissionListItem, type SubmissionPage } from './submission-list';

export interface OwnedSubmission {
  submissionId: string;
  vendorId: string;
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
  running: boolean;
}

function isNotFound(e: unknown): boolean {
  if (e instanceof WorkflowNotFoundError) return true;
  const name = (e as { name?: unknown })?.name;
  const code = (e as { code?: unknown })?.code;
  return name === 'WorkflowNotFoundError' || code === 5;
}

/**
 * Finds a submission the caller may see: a vendor only its own, ops any. Unknown ids, malformed ids and other
 * vendors' submissions all give the same 404, so a vendor cannot learn that another vendor's submission exists.
 * Ownership is read from the workflow's `PreflightVendor` search attribute, set when the API starts it.
 */
export async function findSubmission(client: Client, submissionId: string, principal: Principal | undefined): Promise<OwnedSubmission> {
  if (!principal || typeof submissionId !== 'string' || !ID_PATTERN.test(submissionId)) throw problems.notFound();
  const handle = client.workflow.getHandle(submissionWorkflowId(submissionId));
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (e) {
    if (isNotFound(e)) throw problems.notFound();
    throw e;
  }
  const vendorId = description.typedSearchAttributes.get(SA.vendor);
  const kind = description.typedSearchAttributes.get(SA.kind);
  if (description.type !== 'submissionWorkflow' || kind !== SUBMISSION_KIND || typeof vendorId !== 'string') throw problems.notFound();
  if (principal.kind === 'vendor' && principal.vendorId !== vendorId) throw problems.notFound();
  if (principal.kind !== 'vendor' && principal.kind !== 'ops') throw problems.notFound();
  return { submissionId, vendorId, handle, description, running: description.status.name === 'RUNNING' };
}

/** One page of submissions from Temporal visibility (eventually consistent: a new submission shows within a second). */
export async function listSubmissions(
  client: Client,
  filter: SubmissionFilter,
  page: { pageSize?: number; nextPageToken?: string } = {},
): Promise<SubmissionPage> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: visibilityQuery(filter),
    pageSize: page.pageSize ?? 100,
    nextPageToken: page.nextPageToken ? Buffer.from(page.nextPageToken, 'base64url') : undefined,
  });
  const items: SubmissionListItem[] = [];
  for (const raw of response.executions ?? []) {
    const info = await executionInfoFromRaw(raw, client.options.loadedDataConverter, raw, client.options.namespace);
    const sa = info.typedSearchAttributes;
    const vendorId = sa.get(SA.vendor);
    const submissionId = sa.get(SA.submissionId) ?? info.workflowId.replace(/^submission\//, '');
    if (typeof vendorId !== 'string') continue;
    const release = sa.get(SA.releaseAt);
    items.push({
      submissionId,
      vendorId,
      status: sa.get(SA.status) ?? 'UNKNOWN',
      agencies: [...(sa.get(SA.agencies) ?? [])],
      ...(release ? { plannedReleaseAt: release.toISOString() } : {}),
      startedAt: info.startTime.toISOString(),
      ...(info.closeTime ? { closedAt: info.closeTime.toISOString() } : {}),
      running: info.status.name === 'RUNNING',
    });
  }
  const token = response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { items, ...(token ? { nextPageToken: token } : {}) };
}
