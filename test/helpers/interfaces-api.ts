import type { AgencyRegistry } from '../../events/agency-registry';
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';
import { combineAuthenticators, hashSecret, opsAuthenticator, vendorAuthenticator } from '../../workers/api/auth';
import type { ApiContext } from '../../workers/api/context';
import { startApiServer } from '../../workers/api/server';
import { testStack } from './stack-env';

export interface TestApi {
  url: string;
  ctx: ApiContext;
  stop(): Promise<void>;
}

/** The whole api on 127.0.0.1 (random port) against the test stack, with the given (hashed) vendor keys and ops tokens. */
export async function startTestApi(
  config: Config,
  logger: Logger,
  credentials: { vendorKeys: Record<string, string>; opsTokens: Record<string, string>; agencyRegistry?: AgencyRegistry },
  options: { port?: number; auditWriterId?: string } = {},
): Promise<TestApi> {
  const stack = testStack();
  const authenticator = combineAuthenticators(
    opsAuthenticator({ version: 1, operators: Object.entries(credentials.opsTokens).map(([t, operator]) => ({ operator, sha256: hashSecret(t) })) }),
    vendorAuthenticator({
      version: 1,
      keys: Object.entries(credentials.vendorKeys).map(([k, vendorId]) => ({ vendorId, keyId: `${vendorId}-test`, sha256: hashSecret(k) })),
    }),
  );
  return startApiServer(config, logger, {
    temporalAddress: stack.temporalAddress,
    kafkaBrokers: stack.kafkaBrokers,
    authenticator,
    ...(credentials.agencyRegistry ? { agencyRegistry: credentials.agencyRegistry } : {}),
    host: '127.0.0.1',
    port: options.port ?? 0,
    ...(options.auditWriterId ? { auditWriterId: options.auditWriterId } : {}),
  });
}
