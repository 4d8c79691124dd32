import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { AccessBroker } from '../../clients/access-broker';
import type { AgencyRegistry } from '../../events/agency-registry';
import type { NonceCache } from '../../infra/http-signatures';
import type { PayloadKey } from '../../infra/codec';
import type { Logger } from '../../infra/logger';
import type { SubmissionSettings } from '../../workflows/submission/contract';
import type { AuditTrail } from '../../events/audit-trail';
import type { Authenticator } from './auth';

/** What the vendor and ops route plugins need; `runApi` builds it once per process. */
export interface ApiContext {
  client: Client;
  /** Task queue new submission workflows are started on. */
  taskQueue: string;
  /** Ops tokens and vendor keys, both stored hashed. */
  authenticator: Authenticator;
  /** Every command, refusal, sensitive read and codec call is appended here (Kafka in a running api). */
  audit: AuditTrail;
  logger: Logger;
  /** Verifies agency access tokens for `POST /v1/access/verify`; hands an agency its credential (agency API). */
  accessBroker: Pick<AccessBroker, 'verify' | 'credential'>;
  /** The agencies and their pinned Ed25519 public keys: the keys that verify signed agency API requests. */
  agencyRegistry: AgencyRegistry;
  /** Nonces of signed agency requests seen within the signature window (replay protection). */
  nonces: NonceCache;
  /** For dead letters (ops) and readiness; absent in tests that do not need Kafka. */
  kafka?: Kafka;
  /** The deployment's payload keys: a dead letter's value is sealed with one of them. */
  payloadKeys: PayloadKey[];
  /** Lifecycle timing for new submissions (tests shorten it); production uses the workflow defaults. */
  submissionSettings?: Partial<SubmissionSettings>;
}
