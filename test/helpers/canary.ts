import crypto from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { KEY_ID_METADATA } from '../../infra/codec';

/** A random marker, unique per run, that only a leak can carry somewhere it was not planted. */
export function canary(label: string): string {
  return `cnry${label}${crypto.randomBytes(10).toString('hex')}`;
}

/**
 * The forms a planted string can take once stored: its UTF-8 text, its hex (either case) and its base64 / base64url
 * at each of the three byte alignments it can sit at inside a larger base64 text (the edge characters that mix with
 * neighbouring bytes are cut).
 */
export function encodings(value: string | Buffer): string[] {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const out = new Set<string>([bytes.toString('latin1'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()]);
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const start = [0, 2, 3][shift]!;
    const end = (shift + bytes.length) % 3 === 0 ? b64.length : b64.length - 1;
    const core = b64.slice(start, end);
    out.add(core);
    out.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...out];
}

export interface Needle {
  name: string;
  forms: string[];
}

export function needles(planted: Record<string, string | Buffer>): Needle[] {
  return Object.entries(planted).map(([name, value]) => ({ name, forms: encodings(value) }));
}

export interface Hit {
  needle: string;
  where: string;
  context: string;
}

/** Every needle found in `haystack` (text, or bytes read as latin1 so any byte sequence can match). */
export function findNeedles(haystack: string | Buffer | Uint8Array | null | undefined, list: Needle[], where: string): Hit[] {
  if (haystack === null || haystack === undefined) return [];
  const text = typeof haystack === 'string' ? haystack : Buffer.from(haystack).toString('latin1');
  const hits: Hit[] = [];
  for (const n of list) {
    for (const form of n.forms) {
      const at = text.indexOf(form);
      if (at >= 0) {
        hits.push({ needle: n.name, where, context: text.slice(Math.max(0, at - 80), at + form.length + 80) });
        break;
      }
    }
  }
  return hits;
}

/**
 * Every Payload object anywhere in a history or one of its events (inputs, results, memos, headers, failures' encoded
 * attributes), except search attributes (indexed values the codec never touches) and the SDK's `patched()` markers
 * (`core_patch`: the patch id, written by the SDK core outside the data converter, never workflow data).
 */
export function historyPayloads(history: temporal.api.history.v1.IHistory | temporal.api.history.v1.IHistoryEvent): Payload[] {
  const found: Payload[] = [];
  const seen = new Set<object>();
  const walk = (node: unknown, depth: number): void => {
    if (depth > 40 || node === null || typeof node !== 'object' || seen.has(node) || node instanceof Uint8Array) return;
    seen.add(node);
    const candidate = node as { metadata?: unknown; data?: unknown };
    if (candidate.data instanceof Uint8Array && candidate.metadata && typeof candidate.metadata === 'object') {
      found.push(candidate as Payload);
      return;
    }
    const children = Array.isArray(node)
      ? node
      : Object.entries(node)
          .filter(([k]) => k !== 'searchAttributes' && !(k === 'markerRecordedEventAttributes' && isPatchMarker(node)))
          .map(([, v]) => v as unknown);
    for (const value of children) walk(value, depth + 1);
  };
  walk(history, 0);
  return found;
}

/** The SDK's marker of a `patched()` call. */
export function isPatchMarker(event: object): boolean {
  return (event as { markerRecordedEventAttributes?: { markerName?: string | null } | null }).markerRecordedEventAttributes?.markerName === 'core_patch';
}

/** The key id an encrypted payload names, or undefined for a payload the codec did not encrypt. */
export function payloadKeyId(payload: Payload): string | undefined {
  const raw = payload.metadata?.[KEY_ID_METADATA];
  return raw ? Buffer.from(raw).toString('utf8') : undefined;
}

/** A history as stored: proto3 JSON (bytes in base64) plus its binary encoding, both searchable. */
export function historyHaystacks(history: temporal.api.history.v1.IHistory): { json: string; binary: Buffer } {
  const message = temporal.api.history.v1.History.fromObject(history);
  const json = JSON.stringify(temporal.api.history.v1.History.toObject(message, { bytes: String, longs: String, enums: String }));
  return { json, binary: Buffer.from(temporal.api.history.v1.History.encode(message).finish()) };
}
