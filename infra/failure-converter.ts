import { DefaultFailureConverter } from '@temporalio/common';

// Failure messages and stack traces can quote inputs; moving them into an encoded payload lets the codec encrypt them.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
