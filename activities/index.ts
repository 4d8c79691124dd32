import type { Client } from '@temporalio/client';
import type { Logger } from '../infra/logger';
import type { Resolver } from '../infra/ssrf-guard';
import type { AccessBroker } from '../clients/access-broker';
import { createLifecycleActivities } from './lifecycle';
import type { EventPublisher } from '../events/publisher';
import { createPublisherActivities, type AgencyDomains } from './publisher';
import { createWebhookActivities } from './webhooks';
import { createClearinghouseActivities } from './clearinghouse';
import type { CasePolicy } from '../workflows/clearinghouse/contract';

/** What activities need from the outside world; each process wires real implementations, tests wire fakes. */
export interface ActivityDeps {
  logger: Logger;
  /** 32-byte master key; webhook signing secrets (and access tokens) derive from it. */
  masterKey: Buffer;
  /** For activities that query, signal or start workflows (webhook endpoint look-ups). */
  temporalClient: Client;
  /** CIDRs the webhook SSRF guard lets through (local development and tests); empty in production. */
  webhookAllowlist: readonly string[];
  /** Host name resolution for the webhook SSRF guard; the system resolver when absent. */
  webhookResolver?: Resolver;
  /** Where status events go (Kafka in processes, in memory in tests). */
  publisher: EventPublisher;
  /** Issues and revokes agency access to models (`LocalAccessBroker` by default). */
  accessBroker: AccessBroker;
  /** An agency's assessment domains (the agency registry), named in its invitation; none when absent. */
  agencyDomains?: AgencyDomains;
  /** The agencies whose registry domains include a domain: a third-party finding's case is offered to them. */
  agenciesInDomain?: (domain: string) => string[];
  /** Periods of a clearinghouse case a finding opens (e.g. the report cap); the defaults when absent. */
  casePolicy?: Partial<CasePolicy>;
}

/** All activities the Preflight worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createWebhookActivities(deps),
    ...createPublisherActivities(deps),
    ...createLifecycleActivities(deps),
    ...createClearinghouseActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
