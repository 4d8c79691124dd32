import { Worker } from '@temporalio/worker';
import { loadBinaryHistory } from './history-files';

jest.setTimeout(120_000);

const load = loadBinaryHistory;

// v1: recorded before the vendor registry published through the shared outbox (registration, rotation, an update, a
// spare endpoint disabled, enabled and deleted, two deliveries: one delivered after a 503, one ending in a 410 that
// disables its endpoint and is announced).
const histories: Array<[string, string]> = [
  ['vendor-registry-v1.binpb', 'vendor/acme-recorded'],
  ['webhook-delivery-v1.binpb', 'delivery/submission/s-recorded/1/ep_rec000001'],
  ['webhook-delivery-gone-v1.binpb', 'delivery/submission/s-recorded/2/ep_rec000002'],
  // v2: as v1, plus a delivery whose first attempt the dispatcher made (patch `delivery-first-attempt-by-dispatcher`).
  ['vendor-registry-v2.binpb', 'vendor/acme-recorded'],
  ['webhook-delivery-v2.binpb', 'delivery/submission/s-recorded/1/ep_rec000001'],
  ['webhook-delivery-gone-v2.binpb', 'delivery/submission/s-recorded/2/ep_rec000002'],
  ['webhook-delivery-first-attempt-v2.binpb', 'delivery/submission/s-recorded/3/ep_rec000004'],
];

describe('webhook workflows replay', () => {
  it.each(histories)("replays %s with today's code", async (file, workflowId) => {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../helpers/webhook-workflows') }, load(file), workflowId);
  });
});
