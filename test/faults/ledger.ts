/**
 * The fault suite's ledger: every side effect is keyed by its idempotency key and counted twice, once per attempt
 * (what arrived, resends and redeliveries included) and once per effect (what was applied). From it come the figures:
 * lost effects (expected, never seen), duplicate effects (applied twice, or one key carrying two payloads) and duplicate
 * deliveries (the same key arriving again: allowed, counted).
 */
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { ReceivedRequest } from '../helpers/webhook-receiver';

const hash = (text: string): string => crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
/** The same JSON value always hashes the same, whatever its spacing. */
const canonical = (json: string): string => {
  try {
    return JSON.stringify(JSON.parse(json));
  } catch {
    return json;
  }
};

/** What counts as progress: an accepted reply to a command, a new status event on Kafka, a webhook applied. */
export type ProgressKind = 'reply' | 'event' | 'webhook';

export interface CommandEntry {
  submissionId: string;
  agencyId: string;
  type: string;
  sends: number;
  accepted: number;
  rejected: Array<{ code: string }>;
  /** Updates with this id found in the assessment's history (set by `recordApplied`). */
  applied?: number;
}

export interface EventEntry {
  subject: string;
  sequence: number;
  type: string;
  payload: string;
  records: number;
  data: Record<string, unknown>;
  /** When the suite first consumed it. */
  seenAt: number;
}

export interface WebhookEntry {
  attempts: number;
  badSignatures: number;
  /** Attempts the receiver answered 2xx after verifying the signature; the first one applied the effect. */
  accepted: number;
  applied: boolean;
  bodies: Set<string>;
  type?: string;
  /** Hash of the `data` the applied delivery carried, to compare with the event on Kafka. */
  dataHash?: string;
}

export interface GrantEntry {
  issued: number;
  revokedIds: string[];
  /** Grant ids per agency, from the submission's outcome. */
  byAgency: Map<string, string[]>;
}

export interface FaultRecord {
  kind: string;
  killedAt: number;
  restartedAt: number;
  recoveredAt?: number;
  recoveryMs?: number;
}

export interface Figures {
  started: number;
  completed: number;
  lost: number;
  duplicateEffects: number;
  duplicateDeliveries: { commandResends: number; kafkaEventRecords: number; webhookAttempts: number; total: number };
  longestRecoveryMs: number | null;
  longestRecoveryFault: string | null;
  faults: Array<{ kind: string; recoveryMs: number | null }>;
  counts: {
    commands: number;
    commandsApplied: number;
    events: number;
    webhookEffects: number;
    webhookAttempts: number;
    grantsIssued: number;
    grantsRevoked: number;
  };
  lostKeys: string[];
  duplicateEffectKeys: string[];
}

export class Ledger {
  readonly commands = new Map<string, CommandEntry>();
  readonly events = new Map<string, EventEntry>();
  /** `subject#sequence` → the payload hashes seen with it (more than one is a duplicate effect). */
  readonly sequences = new Map<string, Set<string>>();
  readonly webhooks = new Map<string, WebhookEntry>();
  readonly grants = new Map<string, GrantEntry>();
  readonly started = new Set<string>();
  readonly completed = new Map<string, string>();
  readonly faults: FaultRecord[] = [];
  readonly conflicts: string[] = [];
  /** Times at which a new effect of each kind was observed (the recovery clock reads them). */
  private readonly progress: Array<{ at: number; kind: ProgressKind; origin?: number }> = [];
  private webhookCursor = 0;
  /** The endpoint's signing secret, known once the endpoint is registered. */
  webhookSecret = '';

  private advance(kind: ProgressKind, at = Date.now(), origin?: number): void {
    this.progress.push({ at, kind, ...(origin !== undefined ? { origin } : {}) });
  }

  /**
   * The first new effect of one of `kinds` observed at or after `since`, if any. `originSince` keeps only effects that
   * began at or after that time: replies received then, events produced then (Kafka's record timestamp), webhooks for
   * events first consumed then (the ones a restarted dispatcher had to dispatch).
   */
  progressSince(since: number, kinds: readonly ProgressKind[] = ['reply', 'event', 'webhook'], originSince?: number): number | undefined {
    return this.progress.find((p) => p.at >= since && kinds.includes(p.kind) && (originSince === undefined || (p.origin ?? 0) >= originSince))?.at;
  }

  commandSent(id: string, about: { submissionId: string; agencyId: string; type: string }): void {
    const entry = this.commands.get(id) ?? { ...about, sends: 0, accepted: 0, rejected: [] };
    entry.sends += 1;
    this.commands.set(id, entry);
  }

  /** A reply on `preflight.agency-replies.v1`; replies to commands this suite did not send are ignored. */
  replyReceived(commandId: string, kind: 'accepted' | 'rejected', code?: string): void {
    const entry = this.commands.get(commandId);
    if (!entry) return;
    if (kind === 'accepted') {
      if (entry.accepted === 0) this.advance('reply', Date.now(), Date.now());
      entry.accepted += 1;
    } else entry.rejected.push({ code: code ?? '?' });
  }

  /** A status event consumed from `preflight.submission-events.v1`. */
  eventConsumed(event: { id: string; subject: string; sequence: number; type: string; value: string; producedAt: number }): void {
    const payload = hash(`${event.type}\n${canonical(event.value)}`);
    const key = `${event.subject}#${event.sequence}`;
    const seen = this.sequences.get(key) ?? new Set<string>();
    seen.add(payload);
    this.sequences.set(key, seen);
    const existing = this.events.get(event.id);
    if (existing) {
      existing.records += 1;
      if (existing.payload !== payload) this.conflicts.push(`event ${event.id} carried two payloads`);
      return;
    }
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(event.value) as Record<string, unknown>;
    } catch {
      this.conflicts.push(`event ${event.id} is not JSON`);
    }
    this.events.set(event.id, { subject: event.subject, sequence: event.sequence, type: event.type, payload, records: 1, data, seenAt: Date.now() });
    this.advance('event', Date.now(), event.producedAt);
  }

  /** Takes the receiver's requests not seen yet: verifies each signature and applies each webhook id once. */
  ingestWebhooks(requests: readonly ReceivedRequest[]): void {
    const verifier = new Webhook(this.webhookSecret);
    for (; this.webhookCursor < requests.length; this.webhookCursor++) {
      const request = requests[this.webhookCursor]!;
      const id = String(request.headers['webhook-id'] ?? '');
      const entry = this.webhooks.get(id) ?? { attempts: 0, badSignatures: 0, accepted: 0, applied: false, bodies: new Set<string>() };
      this.webhooks.set(id, entry);
      entry.attempts += 1;
      let verified = true;
      try {
        verifier.verify(request.body, request.headers as Record<string, string>);
      } catch {
        verified = false;
        entry.badSignatures += 1;
      }
      entry.bodies.add(hash(canonical(request.body)));
      const ok = typeof request.reply === 'object' && request.reply.status >= 200 && request.reply.status < 300;
      if (!ok || !verified) continue;
      entry.accepted += 1;
      if (!entry.applied) {
        entry.applied = true;
        try {
          const body = JSON.parse(request.body) as { type?: unknown; data?: unknown };
          entry.type = String(body.type);
          entry.dataHash = hash(JSON.stringify(body.data));
        } catch {
          entry.type = '?';
        }
        this.advance('webhook', request.at, this.events.get(id)?.seenAt);
      }
    }
  }

  /** How many updates with each command id the assessment histories hold. */
  recordApplied(commandId: string, count: number): void {
    const entry = this.commands.get(commandId);
    if (entry) entry.applied = count;
  }

  recordGrants(submissionId: string, issued: number, revokedIds: string[]): void {
    const byAgency = new Map<string, string[]>();
    for (const id of revokedIds) {
      // Grant ids are `<submissionId>.<agencyId>.g<n>` (chosen by the workflow).
      const agency = id.slice(submissionId.length + 1).replace(/\.g\d+$/, '');
      byAgency.set(agency, [...(byAgency.get(agency) ?? []), id]);
    }
    this.grants.set(submissionId, { issued, revokedIds, byAgency });
  }

  /**
   * The figures, against what the run expected: every submission started and CLOSED; for each, the agencies'
   * commands applied once, a contiguous event sequence ending in CLOSED, every subscribed event delivered to the
   * receiver, one grant per agency issued and revoked.
   */
  figures(expected: { agenciesOf: (submissionId: string) => readonly string[]; webhookTypes: readonly string[] }): Figures {
    const lost: string[] = [];
    const dup: string[] = [...this.conflicts];

    for (const submissionId of this.started) {
      if (this.completed.get(submissionId) !== 'CLOSED')
        lost.push(`submission ${submissionId} did not close (${this.completed.get(submissionId) ?? 'no outcome'})`);
    }

    for (const [id, c] of this.commands) {
      if (c.applied === undefined || c.applied === 0) lost.push(`command ${id} (${c.type}) never applied`);
      else if (c.applied > 1) dup.push(`command ${id} applied ${c.applied} times`);
      if (c.accepted === 0) lost.push(`command ${id} never got an accepted reply`);
    }

    for (const [key, payloads] of this.sequences) if (payloads.size > 1) dup.push(`sequence ${key} carried ${payloads.size} different events`);

    const bySubject = new Map<string, EventEntry[]>();
    for (const e of this.events.values()) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e]);
    for (const submissionId of this.started) {
      const events = (bySubject.get(submissionId) ?? []).sort((a, b) => a.sequence - b.sequence);
      const max = events.at(-1)?.sequence ?? 0;
      const have = new Set(events.map((e) => e.sequence));
      for (let s = 1; s <= max; s++) if (!have.has(s)) lost.push(`event ${submissionId}#${s} never consumed`);
      const statuses = events.filter((e) => e.type === 'gov.preflight.submission.status-changed.v1').map((e) => String(e.data.status));
      const reached = new Set(statuses);
      if (statuses.length !== reached.size) dup.push(`submission ${submissionId} announced a status twice: ${statuses.join(',')}`);
      if (this.completed.get(submissionId) === 'CLOSED' && !reached.has('CLOSED')) lost.push(`submission ${submissionId} closed without a CLOSED event`);
      // Findings: one per agency was sent, so one finding.submitted per agency is expected.
      const findings = events.filter((e) => e.type === 'gov.preflight.finding.submitted.v1');
      for (const agencyId of expected.agenciesOf(submissionId)) {
        const n = findings.filter((e) => e.data.agencyId === agencyId).length;
        if (n === 0) lost.push(`finding of ${agencyId} on ${submissionId} never announced`);
        if (n > 1) dup.push(`finding of ${agencyId} on ${submissionId} announced ${n} times`);
      }
    }

    for (const [id, e] of this.events) {
      if (!expected.webhookTypes.includes(e.type)) continue;
      const w = this.webhooks.get(id);
      if (!w?.applied) lost.push(`webhook for ${id} (${e.type}) never applied`);
      else if (w.type !== e.type || w.dataHash !== hash(JSON.stringify(e.data))) dup.push(`webhook ${id} differs from its event on Kafka`);
    }
    for (const [id, w] of this.webhooks) {
      if (w.bodies.size > 1) dup.push(`webhook ${id} arrived with ${w.bodies.size} different bodies`);
      if (w.badSignatures > 0) dup.push(`webhook ${id} had ${w.badSignatures} bad signatures`);
      if (!this.events.has(id)) lost.push(`webhook ${id} has no event on Kafka`);
    }

    for (const submissionId of this.started) {
      const g = this.grants.get(submissionId);
      if (!g) {
        lost.push(`grants of ${submissionId} unknown`);
        continue;
      }
      const agencies = expected.agenciesOf(submissionId);
      if (g.issued > agencies.length) dup.push(`${submissionId}: ${g.issued} grants issued for ${agencies.length} agencies`);
      if (g.revokedIds.length < g.issued) lost.push(`${submissionId}: ${g.issued - g.revokedIds.length} grants never revoked`);
      for (const agencyId of agencies) {
        const ids = g.byAgency.get(agencyId) ?? [];
        if (ids.length === 0) lost.push(`${submissionId}: no grant for ${agencyId}`);
        if (ids.length > 1) dup.push(`${submissionId}: ${ids.length} grants for ${agencyId}`);
      }
    }

    const commandResends = [...this.commands.values()].reduce((n, c) => n + c.sends - 1, 0);
    const kafkaEventRecords = [...this.events.values()].reduce((n, e) => n + e.records - 1, 0);
    const webhookAttempts = [...this.webhooks.values()].reduce((n, w) => n + Math.max(0, w.accepted - 1), 0);
    const recovered = this.faults.filter((f) => f.recoveryMs !== undefined);
    const longest = recovered.reduce<FaultRecord | undefined>((a, f) => (!a || f.recoveryMs! > a.recoveryMs! ? f : a), undefined);
    return {
      started: this.started.size,
      completed: [...this.completed.values()].filter((s) => s === 'CLOSED').length,
      lost: lost.length,
      duplicateEffects: dup.length,
      duplicateDeliveries: { commandResends, kafkaEventRecords, webhookAttempts, total: commandResends + kafkaEventRecords + webhookAttempts },
      longestRecoveryMs: longest?.recoveryMs ?? null,
      longestRecoveryFault: longest ? `${longest.kind} #${this.faults.filter((f) => f.kind === longest.kind).indexOf(longest) + 1}` : null,
      faults: this.faults.map((f) => ({ kind: f.kind, recoveryMs: f.recoveryMs ?? null })),
      counts: {
        commands: this.commands.size,
        commandsApplied: [...this.commands.values()].filter((c) => (c.applied ?? 0) > 0).length,
        events: this.events.size,
        webhookEffects: [...this.webhooks.values()].filter((w) => w.applied).length,
        webhookAttempts: [...this.webhooks.values()].reduce((n, w) => n + w.attempts, 0),
        grantsIssued: [...this.grants.values()].reduce((n, g) => n + g.issued, 0),
        grantsRevoked: [...this.grants.values()].reduce((n, g) => n + g.revokedIds.length, 0),
      },
      lostKeys: lost.slice(0, 50),
      duplicateEffectKeys: dup.slice(0, 50),
    };
  }
}
