import fs from 'node:fs';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';
import type * as TemporalWorker from '@temporalio/worker';
import type { DataConverter, SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { dataConverter, payloadKeys, type PayloadKey } from './codec';
import type { Config, TemporalConfig } from './config';
import { resolveMasterKey } from './master-key';

function tlsOptions(config: TemporalConfig): ConnectionOptions['tls'] {
  if (!config.tls.enabled) return undefined;
  const { certPath, keyPath, caPath, serverName } = config.tls;
  return {
    serverNameOverride: serverName,
    serverRootCACertificate: caPath ? fs.readFileSync(caPath) : undefined,
    clientCertPair: certPath && keyPath ? { crt: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) } : undefined,
  };
}

function connectionOptions(config: TemporalConfig, address: string): ConnectionOptions & TemporalWorker.NativeConnectionOptions {
  return {
    address,
    tls: tlsOptions(config),
    apiKey: config.apiKey,
    metadata: config.apiKey ? { 'temporal-namespace': config.namespace } : undefined,
  };
}

/**
 * A client connection for starting workflows, sending updates and reading visibility.
 *
 * Calls are retried as by default (transient gRPC codes, backing off up to 5 s), except once the connection is
 * closing: a retry then would be made on a closed channel, and gRPC throws that from a timer, outside any caller.
 * So `close()` stops new retries, waits for those already scheduled to run (at most one back-off), then closes.
 */
export async function connectClient(config: TemporalConfig, address = config.address, converter?: DataConverter): Promise<Client> {
  if (!address) throw new Error('Temporal address is not known: start the local stack or set TEMPORAL_ADDRESS');
  const retry = defaultGrpcRetryOptions();
  let closing = false;
  let retriesScheduledUntil = 0;
  const connection = await Connection.connect({
    ...connectionOptions(config, address),
    interceptors: [
      makeGrpcRetryInterceptor({
        retryableDecider: (attempt, status) => !closing && retry.retryableDecider(attempt, status),
        delayFunction: (attempt, status) => {
          const ms = retry.delayFunction(attempt, status);
          retriesScheduledUntil = Math.max(retriesScheduledUntil, Date.now() + ms);
          return ms;
        },
      }),
    ],
  });
  const close = connection.close.bind(connection);
  connection.close = async () => {
    closing = true;
    const wait = retriesScheduledUntil - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 50));
    await close();
  };
  return new Client({ connection, namespace: config.namespace, dataConverter: converter });
}

/** A native connection for workers. The worker package (the native core) loads here, not with every client. */
export async function connectWorker(config: TemporalConfig, address = config.address): Promise<TemporalWorker.NativeConnection> {
  if (!address) throw new Error('Temporal address is not known: start the local stack or set TEMPORAL_ADDRESS');
  const { NativeConnection } = require('@temporalio/worker') as typeof TemporalWorker;
  return NativeConnection.connect(connectionOptions(config, address));
}

/**
 * Registers any missing Preflight search attribute on the namespace (the local dev server gets them as start
 * flags; an existing cluster gets them here). Temporal Cloud refuses this call: there, create them in the
 * namespace settings, and this only warns.
 */
export async function ensureSearchAttributes(
  client: Client,
  namespace: string,
  attributes: Array<{ name: string; type: SearchAttributeType }>,
): Promise<string[]> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = attributes.filter((a) => !customAttributes || !(a.name in customAttributes));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((a) => [a.name, encodeSearchAttributeIndexedValueType(a.type)!])),
  });
  return missing.map((a) => a.name);
}

/** This deployment's payload keys, the first one current (see infra/codec.ts). */
export function deploymentPayloadKeys(config: Config): PayloadKey[] {
  return payloadKeys(config.payloadKeys, resolveMasterKey(config.masterKey, config.stack.dataDir));
}

/** The encrypting data converter for this deployment's keys (see infra/codec.ts). */
export function deploymentDataConverter(config: Config): DataConverter {
  return dataConverter(deploymentPayloadKeys(config));
}
