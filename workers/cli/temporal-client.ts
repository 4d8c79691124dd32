import type { Client } from '@temporalio/client';
import type { Config } from '../../infra/config';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { CliError } from './common';
import { expectedEndpoints } from '../../stack/servers';

/**
 * Runs a CLI command with a Temporal client that has the deployment's payload codec, straight to Temporal (no api or
 * token needed); an unreachable server is one clear line, and the connection is closed afterwards.
 */
export async function withTemporalClient<T>(config: Config, run: (client: Client) => Promise<T>): Promise<T> {
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
