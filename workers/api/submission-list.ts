import http from 'node:http';
import https from 'node:https';
import type { SubmissionStatus } from '../../wire/enums';
import { SA } from '../../workflows/shared/search-attributes';

/**
 * Listing submissions from Temporal visibility: the query, the row, and a reader over the frontend's HTTP API that
 * needs neither the gRPC client nor the protobuf definitions (the CLI's `submissions list` answers with it at once).
 * `lookup.ts` reads the same rows through the gRPC client; both give the same items and page tokens.
 */

export const SUBMISSION_KIND = 'submission';

export interface SubmissionFilter {
  vendor?: string;
  status?: SubmissionStatus;
  agency?: string;
  releaseFrom?: string;
  releaseTo?: string;
}

export interface SubmissionListItem {
  submissionId: string;
  vendorId: string;
  status: string;
  agencies: string[];
  plannedReleaseAt?: string;
  startedAt: string;
  closedAt?: string;
  running: boolean;
}

export interface SubmissionPage {
  items: SubmissionListItem[];
  nextPageToken?: string;
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The visibility query for a filter; values were validated by the callers' schemas and are quoted anyway. */
export function visibilityQuery(filter: SubmissionFilter): string {
  const clauses = [`${SA.kind.name} = ${quote(SUBMISSION_KIND)}`, `WorkflowType = 'submissionWorkflow'`];
  if (filter.vendor) clauses.push(`${SA.vendor.name} = ${quote(filter.vendor)}`);
  if (filter.status) clauses.push(`${SA.status.name} = ${quote(filter.status)}`);
  if (filter.agency) clauses.push(`${SA.agencies.name} = ${quote(filter.agency)}`);
  if (filter.releaseFrom) clauses.push(`${SA.releaseAt.name} >= ${quote(filter.releaseFrom)}`);
  if (filter.releaseTo) clauses.push(`${SA.releaseAt.name} <= ${quote(filter.releaseTo)}`);
  return clauses.join(' AND ');
}

/** What the HTTP API gives for one execution (protobuf JSON: payloads with base64 metadata and data). */
interface HttpPayload {
  metadata?: Record<string, string>;
  data?: string;
}
interface HttpExecution {
  execution?: { workflowId?: string };
  startTime?: string;
  closeTime?: string;
  status?: string;
  searchAttributes?: { indexedFields?: Record<string, HttpPayload> };
}

/** A search attribute value: always plain JSON (`json/plain`), since visibility is never encrypted. */
function attribute(fields: Record<string, HttpPayload> | undefined, name: string): unknown {
  const payload = fields?.[name];
  if (!payload?.data) return undefined;
  const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding, 'base64').toString('utf8') : undefined;
  if (encoding !== 'json/plain') return undefined;
  try {
    return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** One row from an execution as the HTTP API gives it; undefined when it carries no vendor (not one of ours). */
export function listItemFromHttp(raw: HttpExecution): SubmissionListItem | undefined {
  const fields = raw.searchAttributes?.indexedFields;
  const vendorId = attribute(fields, SA.vendor.name);
  if (typeof vendorId !== 'string' || !raw.startTime) return undefined;
  const submissionId = attribute(fields, SA.submissionId.name);
  const status = attribute(fields, SA.status.name);
  const agencies = attribute(fields, SA.agencies.name);
  const release = attribute(fields, SA.releaseAt.name);
  return {
    submissionId: typeof submissionId === 'string' ? submissionId : (raw.execution?.workflowId ?? '').replace(/^submission\//, ''),
    vendorId,
    status: typeof status === 'string' ? status : 'UNKNOWN',
    agencies: Array.isArray(agencies) ? agencies.filter((a): a is string => typeof a === 'string') : [],
    ...(typeof release === 'string' ? { plannedReleaseAt: new Date(release).toISOString() } : {}),
    startedAt: new Date(raw.startTime).toISOString(),
    ...(raw.closeTime ? { closedAt: new Date(raw.closeTime).toISOString() } : {}),
    running: raw.status === 'WORKFLOW_EXECUTION_STATUS_RUNNING',
  };
}

/**
 * One GET through Node's own HTTP client (loaded in a few milliseconds, where `fetch` first loads undici): the body
 * of a 2xx answer, else a {@link VisibilityHttpError}.
 */
function getJson(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<string> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(text);
        else reject(new VisibilityHttpError(`the Temporal HTTP API answered ${status}: ${text.slice(0, 300)}`));
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (err) => reject(new VisibilityHttpError(`cannot reach the Temporal HTTP API at ${url.origin}: ${err.message}`)));
  });
}

/** Raised when the HTTP API cannot be reached or answers with an error; the caller may fall back to gRPC. */
export class VisibilityHttpError extends Error {
  override readonly name = 'VisibilityHttpError';
}

/**
 * One page of submissions through the Temporal frontend's HTTP API (`GET /api/v1/namespaces/{ns}/workflows`). Page
 * tokens are base64url of the server's token bytes, as `listSubmissions` gives them, so either reader continues the
 * other's pages.
 */
export async function listSubmissionsOverHttp(
  baseUrl: string,
  namespace: string,
  filter: SubmissionFilter,
  page: { pageSize?: number; nextPageToken?: string } = {},
  options: { apiKey?: string; timeoutMs?: number } = {},
): Promise<SubmissionPage> {
  const url = new URL(`${baseUrl}/api/v1/namespaces/${encodeURIComponent(namespace)}/workflows`);
  url.searchParams.set('query', visibilityQuery(filter));
  url.searchParams.set('pageSize', String(page.pageSize ?? 100));
  if (page.nextPageToken) url.searchParams.set('nextPageToken', Buffer.from(page.nextPageToken, 'base64url').toString('base64'));
  let body: { executions?: HttpExecution[]; nextPageToken?: string };
  try {
    body = JSON.parse(
      await getJson(url, { accept: 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) }, options.timeoutMs ?? 10_000),
    ) as typeof body;
  } catch (err) {
    throw err instanceof VisibilityHttpError ? err : new VisibilityHttpError(`the Temporal HTTP API at ${baseUrl} gave no answer: ${(err as Error).message}`);
  }
  const items = (body.executions ?? []).map(listItemFromHttp).filter((i): i is SubmissionListItem => i !== undefined);
  const token = body.nextPageToken ? Buffer.from(body.nextPageToken, 'base64').toString('base64url') : undefined;
  return { items, ...(token ? { nextPageToken: token } : {}) };
}
