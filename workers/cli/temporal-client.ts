import type { Client } from '@temporalio/client';
import type { Config } from '../../infra/config';
import type * as Temporal from '../../infra/temporal';
import type * as Servers from '../../stack/servers';
import { CliError } from './common';

/**
 * Runs a CLI command with a Temporal client that has the deployment's payload codec, straight to Temporal (no api or
 * token needed); an unreachable server is one clear line, and the connection is closed afterwards. The Temporal client
 * loads here, when a command needs it.
 */
export async function withTemporalClient<T>(config: Config, run: (client: Client) => Promise<T>): Promise<T> {
  const { connectClient, deploymentDataConverter } = require('../../infra/temporal') as typeof Temporal;
  const { expectedEndpoints } = require('../../stack/servers') as typeof Servers;
  let client: Client;
  try {
    client = await connectClient(config.temporal, expectedEndpoints(config).temporal, deploymentDataConverter(config));
  } catch (err) {
    throw new CliError(`cannot reach Temporal: ${(err as Error).message}`);
  }
  try {
    return await run(client);
  } finally {
    await client.connection.close();
  }
}
