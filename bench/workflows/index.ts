// The benchmark worker's workflows: every Preflight workflow plus the minimal baselines, in one bundle.
export * from '../../workflows';
export { minimalAssessmentWorkflow, minimalSubmissionWorkflow } from './minimal';
