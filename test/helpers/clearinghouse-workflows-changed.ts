// A deliberately incompatible change of the case workflow (a new timer before anything else), for the replay test
// that must fail: it proves the replay test can tell a breaking change from a compatible one.
import { sleep } from '@temporalio/workflow';
import { clearinghouseCaseWorkflow as current } from '../../workflows/clearinghouse/workflow';
import type { CaseWorkflowInput } from '../../workflows/clearinghouse/contract';

export async function clearinghouseCaseWorkflow(input: CaseWorkflowInput) {
  await sleep('1 second');
  return current(input);
}
