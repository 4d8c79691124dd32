// Every workflow the Preflight worker runs. The exported function name is the workflow type in history.
export { vendorWorkflow } from './webhooks/endpoint-registry';
export { webhookDeliveryWorkflow } from './webhooks/delivery';
export { submissionWorkflow } from './submission/workflow';
export { agencyAssessmentWorkflow } from './assessment/workflow';
export { clearinghouseCaseWorkflow } from './clearinghouse/workflow';
export { idempotencyKeyWorkflow } from './idempotency/workflow';
