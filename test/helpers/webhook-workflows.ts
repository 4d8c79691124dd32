// The webhook workflows alone, so webhook tests bundle only what they run.
export { vendorWorkflow } from '../../workflows/vendor';
export { webhookDeliveryWorkflow } from '../../workflows/webhook-delivery';
