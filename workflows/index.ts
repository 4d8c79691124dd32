// Every workflow the Preflight worker runs. The exported function name is the workflow type in history.
export { vendorWorkflow } from './vendor';
export { webhookDeliveryWorkflow } from './webhook-delivery';
export { submissionWorkflow } from './submission';
export { agencyAssessmentWorkflow } from './agency-assessment';
export { clearinghouseCaseWorkflow } from './clearinghouse-case';
