import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv } from '../helpers/time-skipping';

type History = temporal.api.history.v1.IHistory;

export const HISTORY_DIR = path.resolve(__dirname, 'histories');

/**
 * Histories are stored as protobufjs JSON objects (enums by name, 64-bit ints as strings, bytes as base64). The SDK's
 * `historyToJSON` cannot run inside jest's module registry (protobufjs type identity), so this form is used both ways.
 */
export function historyToObject(history: History): Record<string, unknown> {
  return temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
    enums: String,
    longs: String,
    bytes: String,
    defaults: false,
  });
}

export function historyFromObject(obj: unknown): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(obj as Record<string, unknown>);
}

export interface RecordedRun {
  workflowId: string;
  history: temporal.api.history.v1.History;
}

/** Every workflow history recorded in one scenario file (parent first, then its agency children). */
export function loadRecordedRuns(file: string): RecordedRun[] {
  const raw = JSON.parse(fs.readFileSync(path.join(HISTORY_DIR, file), 'utf8')) as { workflowId: string; history: unknown }[];
  return raw.map((r) => ({ workflowId: r.workflowId, history: historyFromObject(r.history) }));
}

/** A history stored as binary protobuf under histories/ (`.binpb`). */
export function loadBinaryHistory(file: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.decode(fs.readFileSync(path.join(HISTORY_DIR, file)));
}

/**
 * Writes a history as binary protobuf under histories/: this install has two protobufjs copies, and the JSON history
 * helpers fail across them.
 */
export function saveBinaryHistory(file: string, history: temporal.api.history.v1.IHistory): void {
  const target = path.join(HISTORY_DIR, file);
  fs.writeFileSync(target, temporal.api.history.v1.History.encode(history).finish());
  process.stdout.write(`${target}: ${history.events?.length} events\n`);
}

/**
 * Runs a recording script as a process: a worker for `workflowsPath` with `activities` on a fresh time-skipping
 * server, `script` against it, then both are torn down (also on failure); a failure prints its stack and exits 1.
 */
export function record(
  worker: { taskQueue: string; workflowsPath: string; activities: object },
  script: (env: TestWorkflowEnvironment) => Promise<void>,
): void {
  const run = async () => {
    const ts = await createTimeSkippingEnv();
    try {
      const running = await Worker.create({ connection: ts.env.nativeConnection, ...worker });
      await running.runUntil(() => script(ts.env));
    } finally {
      // Also when the script fails, so no test server outlives the recording.
      await ts.teardown();
    }
  };
  run().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
