/** Stops the servers the global setup started, leaving no process and no listening port. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__preflightStackStop?.();
}
