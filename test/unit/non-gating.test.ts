import fs from 'node:fs';
import path from 'node:path';
import {
  AGENCY_STATUSES,
  CLEARANCE_NOTICES,
  CONSOLIDATION_TRIGGERS,
  END_REASONS,
  FINDING_RESPONSES,
  type FindingResponseKind,
  SEVERITIES,
  type Severity,
  SUBMISSION_STATUSES,
  type SubmissionStatus,
} from '../../wire/enums';
import { SUBMISSION_EVENT_TYPES } from '../../workflows/submission/contract';
import { FAILURES } from '../../workflows/shared/failures';
import { SUBMISSION_TRANSITIONS, deriveClearanceNotice, vendorCommandRefusal } from '../../workflows/submission/rules';

// Executive order Sec. 3(c): no mandatory preclearance. These words would be an approving, blocking or holding outcome.
const GATING = /APPROV|BLOCK|DENIED|DENY|PRECLEAR|RELEASE_HOLD|ON_HOLD|HOLD_RELEASE|CLEARED_FOR_RELEASE|NOT_CLEARED|FORBID|PROHIBIT/i;

describe('the lifecycle cannot approve, block or hold a release', () => {
  it('no status, notice, end reason, trigger, failure or event type says so', () => {
    const vocabulary = [
      ...SUBMISSION_STATUSES,
      ...AGENCY_STATUSES,
      ...CLEARANCE_NOTICES,
      ...END_REASONS,
      ...CONSOLIDATION_TRIGGERS,
      // A party forbidden to act on a clearinghouse case is access control, not a verdict on a release.
      ...Object.values(FAILURES)
        .filter((f) => f.type !== FAILURES.caseForbidden.type)
        .map((f) => f.type),
      ...Object.values(SUBMISSION_EVENT_TYPES),
    ];
    expect(vocabulary.filter((w) => GATING.test(w))).toEqual([]);
  });

  it('from every reachable state before release, a declared release is accepted; no state waits on a verdict', () => {
    const reachable = new Set<SubmissionStatus>(['RECEIVED']);
    const queue: SubmissionStatus[] = ['RECEIVED'];
    while (queue.length > 0) {
      for (const next of SUBMISSION_TRANSITIONS[queue.shift()!]) {
        if (!reachable.has(next)) {
          reachable.add(next);
          queue.push(next);
        }
      }
    }
    expect([...reachable].sort()).toEqual([...SUBMISSION_STATUSES].sort());
    for (const s of reachable) {
      const ended = s === 'RELEASED' || s === 'CLOSED' || s === 'WITHDRAWN';
      expect({ s, refused: vendorCommandRefusal('declareReleased', s) !== undefined }).toEqual({ s, refused: ended });
      expect({ s, refused: vendorCommandRefusal('withdraw', s) !== undefined }).toEqual({ s, refused: ended });
    }
  });

  it('the notice is advisory for any mix of agency outcomes, findings and responses (10 000 random cases)', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const responses: (FindingResponseKind | undefined)[] = [undefined, ...FINDING_RESPONSES];
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const agencies = Array.from({ length: rand(7) }, () => AGENCY_STATUSES[rand(AGENCY_STATUSES.length)]!);
      const findings = Array.from({ length: rand(6) }, () => {
        const response = responses[rand(responses.length)];
        return { severity: SEVERITIES[rand(SEVERITIES.length)] as Severity, ...(response ? { response } : {}) };
      });
      const notice = deriveClearanceNotice(agencies, findings);
      expect(CLEARANCE_NOTICES).toContain(notice);
      seen.add(notice);
    }
    expect(seen.size).toBe(CLEARANCE_NOTICES.length);
  });

  it('no lifecycle source file contains a gating outcome as a string literal', () => {
    const files = ['submission/contract.ts', 'submission/rules.ts', 'submission/workflow.ts', 'assessment/contract.ts', 'assessment/workflow.ts'].map((f) =>
      path.resolve(__dirname, '../../workflows', f),
    );
    for (const file of files) {
      const literals = fs.readFileSync(file, 'utf8').match(/(['"`])(?:(?!\1)[^\\\n]|\\.)*\1/g) ?? [];
      expect({ file, gating: literals.filter((l) => GATING.test(l)) }).toEqual({ file, gating: [] });
    }
  });
});
