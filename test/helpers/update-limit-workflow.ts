import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

/** One no-op update, as a finding is one update on its agency's assessment: for measuring the server's update cap. */
export const noteUpdate = defineUpdate<number, [number]>('note');

export async function updateLimitWorkflow(): Promise<number> {
  let count = 0;
  setHandler(noteUpdate, (n) => {
    count += 1;
    return n;
  });
  await condition(() => false);
  return count;
}
