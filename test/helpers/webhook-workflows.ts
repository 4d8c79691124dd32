// The webhook workflows alone, so webhook tests bundle only what they run.
export { vendorWorkflow } from '../../workflows/webhooks/endpoint-registry';
export { webhookDeliveryWorkflow } from '../../workflows/webhooks/delivery';
