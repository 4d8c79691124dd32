// The clearinghouse workflow alone, so its tests bundle only what they run.
export { clearinghouseCaseWorkflow } from '../../workflows/clearinghouse/workflow';
