import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';

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
