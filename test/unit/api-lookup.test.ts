import { visibilityQuery } from '../../workers/api/lookup';
import { newSubmissionId } from '../../workers/api/submissions';
import { ID_PATTERN } from '../../wire/enums';

describe('visibility queries', () => {
  it('always restrict to submission workflows and add each filter', () => {
    expect(visibilityQuery({})).toBe(`PreflightKind = 'submission' AND WorkflowType = 'submissionWorkflow'`);
    expect(
      visibilityQuery({ vendor: 'acme', status: 'UNDER_ASSESSMENT', agency: 'nsa', releaseFrom: '2026-12-01T00:00:00Z', releaseTo: '2026-12-31T00:00:00Z' }),
    ).toBe(
      `PreflightKind = 'submission' AND WorkflowType = 'submissionWorkflow' AND PreflightVendor = 'acme' AND PreflightStatus = 'UNDER_ASSESSMENT'` +
        ` AND PreflightAgencies = 'nsa' AND PreflightReleaseAt >= '2026-12-01T00:00:00Z' AND PreflightReleaseAt <= '2026-12-31T00:00:00Z'`,
    );
  });

  it('quote values so a crafted one cannot widen the query', () => {
    expect(visibilityQuery({ vendor: "x' OR PreflightVendor != '" })).toContain(`PreflightVendor = 'x\\' OR PreflightVendor != \\''`);
  });
});

describe('submission ids', () => {
  it('are valid ids, random without an idempotency key and stable per vendor with one', () => {
    const a = newSubmissionId('acme');
    expect(a).toMatch(ID_PATTERN);
    expect(newSubmissionId('acme')).not.toBe(a);
    expect(newSubmissionId('acme', 'k1')).toBe(newSubmissionId('acme', 'k1'));
    expect(newSubmissionId('globex', 'k1')).not.toBe(newSubmissionId('acme', 'k1'));
  });
});
