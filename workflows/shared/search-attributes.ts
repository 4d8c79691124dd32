import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes Preflight registers on the namespace. Opaque ids and enums only: never names,
 * titles or finding contents, since visibility is not encrypted.
 */
export const SA = {
  kind: defineSearchAttributeKey('PreflightKind', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('PreflightStatus', SearchAttributeType.KEYWORD),
  vendor: defineSearchAttributeKey('PreflightVendor', SearchAttributeType.KEYWORD),
  agencies: defineSearchAttributeKey('PreflightAgencies', SearchAttributeType.KEYWORD_LIST),
  submissionId: defineSearchAttributeKey('PreflightSubmissionId', SearchAttributeType.KEYWORD),
  releaseAt: defineSearchAttributeKey('PreflightReleaseAt', SearchAttributeType.DATETIME),
  caseParties: defineSearchAttributeKey('PreflightCaseParties', SearchAttributeType.KEYWORD_LIST),
  severity: defineSearchAttributeKey('PreflightSeverity', SearchAttributeType.KEYWORD),
  endpointId: defineSearchAttributeKey('PreflightEndpointId', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('PreflightEventId', SearchAttributeType.KEYWORD),
} as const;

/** The `--search-attribute NAME=Type` spelling the Temporal CLI dev server takes. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
};
