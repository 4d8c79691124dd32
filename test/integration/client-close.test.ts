import net from 'node:net';
import { connectClient } from '../../infra/temporal';
import { testConfig, testStack } from '../helpers/stack-env';

jest.setTimeout(120_000);

/**
 * Every process closes its Temporal client when it stops. A call that met an unavailable server at that moment is
 * waiting to be retried; a retry made after the channel closed throws from a timer, outside any caller, and would
 * take the process (or a test file) down with an uncaught exception. Closing waits for scheduled retries and stops
 * new ones, so the call ends with its own error.
 */
describe('closing a Temporal client while a call is being retried', () => {
  const sockets = new Set<net.Socket>();
  let proxy: net.Server | undefined;

  afterAll(() => {
    for (const s of sockets) s.destroy();
    proxy?.close();
  });

  it('ends the call with its error and throws nothing afterwards', async () => {
    const [host, port] = testStack().temporalAddress.split(':') as [string, string];
    proxy = net.createServer((inbound) => {
      const outbound = net.connect(Number(port), host);
      sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      const end = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const config = testConfig();
    const client = await connectClient(config.temporal, address);
    await client.workflowService.getSystemInfo({});

    // The server becomes unreachable: the next call fails UNAVAILABLE and is scheduled for a retry.
    const closed = new Promise<void>((resolve) => proxy!.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const call = client.workflowService.describeNamespace({ namespace: config.temporal.namespace }).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.connection.close();
      const outcome = await call;
      expect(outcome).toMatch(/UNAVAILABLE|No connection established|Connection dropped|ECONNREFUSED/i);
      // Longer than the longest back-off (5 s and its jitter): a retry still scheduled would have run by now.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
