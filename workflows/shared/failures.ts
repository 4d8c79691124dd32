/**
 * Every business failure Preflight raises, and how each channel answers it. Validators and activities throw
 * `ApplicationFailure`s with a `type` from here (the message is a sentence a person understands); the ingress replies
 * with the `code`, the API answers with `httpStatus`. The types are recorded in workflow histories and travel on the
 * wire: they never change.
 */
export interface Failure {
  /** `ApplicationFailure.type`. */
  readonly type: string;
  /**
   * The machine code. The ingress replies with it when it is one of the reply codes (`rejected` otherwise); the API
   * puts it in the problem body unless `problemCode` says otherwise.
   */
  readonly code: string;
  /** The API's answer; absent where no route meets the failure (a refused update is then a 409 `rejected`). */
  readonly httpStatus?: 404 | 409 | 422;
  /** Where the API's problem body names another code than the ingress reply. */
  readonly problemCode?: string;
  /** Whether sending the same command again could get another answer; a refusal stands. */
  readonly retriable: boolean;
}

export const FAILURES = {
  // Submissions and assessments
  /** The input is malformed (missing field, bad date, unknown enum). Webhook endpoint input too. */
  invalidInput: { type: 'PreflightInvalidInput', code: 'invalid-input', httpStatus: 422, retriable: false },
  /** The command is not allowed in the current state (e.g. start before accept). */
  notAllowedInState: { type: 'PreflightNotAllowedInState', code: 'not-allowed-in-state', httpStatus: 409, retriable: false },
  /** The signer is not the agency this assessment belongs to. The API does not say the submission exists. */
  wrongAgency: { type: 'PreflightWrongAgency', code: 'wrong-agency', httpStatus: 404, problemCode: 'not-found', retriable: false },
  /** A finding names a model version other than the one submitted. */
  modelVersionMismatch: {
    type: 'PreflightModelVersionMismatch',
    code: 'model-version-mismatch',
    httpStatus: 422,
    problemCode: 'invalid-input',
    retriable: false,
  },
  /** An info request or finding id that does not exist (or is not open). */
  unknownReference: { type: 'PreflightUnknownReference', code: 'unknown-reference', httpStatus: 404, retriable: false },
  /** The access broker could not grant access; the submission compensates by revoking what it granted. */
  accessProvisioningFailed: { type: 'PreflightAccessProvisioningFailed', code: 'rejected', retriable: false },

  // Clearinghouse cases
  caseInvalidInput: { type: 'CaseInvalidInput', code: 'invalid-input', retriable: false },
  caseInvalidTransition: { type: 'CaseInvalidTransition', code: 'not-allowed-in-state', retriable: false },
  caseForbidden: { type: 'CaseForbidden', code: 'forbidden', retriable: false },
  caseEmbargoed: { type: 'CaseEmbargoed', code: 'rejected', retriable: false },
  caseNotFound: { type: 'CaseNotFound', code: 'not-found', retriable: false },
  caseTooManyReports: { type: 'CaseTooManyReports', code: 'rejected', retriable: false },

  // Webhook endpoints
  unknownEndpoint: { type: 'PreflightUnknownEndpoint', code: 'not-found', httpStatus: 404, retriable: false },
  duplicateEndpoint: { type: 'PreflightDuplicateEndpoint', code: 'duplicate', httpStatus: 409, retriable: false },
  tooManyEndpoints: { type: 'PreflightTooManyEndpoints', code: 'too-many-endpoints', httpStatus: 409, retriable: false },
} as const satisfies Record<string, Failure>;

export type FailureType = (typeof FAILURES)[keyof typeof FAILURES]['type'];

/** The catalog entry of an `ApplicationFailure.type`, if it is one of Preflight's. */
export function failureOfType(type: string | undefined): Failure | undefined {
  return type === undefined ? undefined : Object.values(FAILURES).find((f: Failure) => f.type === type);
}
