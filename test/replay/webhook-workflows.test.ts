import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

jest.setTimeout(120_000);

const dir = path.join(__dirname, 'histories');
const load = (file: string) => temporal.api.history.v1.History.decode(fs.readFileSync(path.join(dir, file)));

// v1: recorded before the vendor registry published through the shared outbox (registration, rotation, an update, a
// spare endpoint disabled, enabled and deleted, two deliveries: one delivered after a 503, one ending in a 410 that
// disables its endpoint and is announced).
const histories: Array<[string, string]> = [
  ['vendor-registry-v1.binpb', 'vendor/acme-recorded'],
  ['webhook-delivery-v1.binpb', 'delivery/submission/s-recorded/1/ep_rec000001'],
  ['webhook-delivery-gone-v1.binpb', 'delivery/submission/s-recorded/2/ep_rec000002'],
];

describe('webhook workflows replay', () => {
  it.each(histories)("replays %s with today's code", async (file, workflowId) => {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../helpers/webhook-workflows') }, load(file), workflowId);
  });
});
