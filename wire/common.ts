/** Primitive wire schemas shared by commands, events, replies and HTTP bodies. */
import { z } from 'zod';
import { AGENCY_ID_PATTERN, COMMAND_ID_PATTERN, CWE_ID_INPUT_PATTERN, DOMAIN_PATTERN, EVENT_TYPE_PATTERN, ID_PATTERN, REF_ID_PATTERN } from './enums';

/** RFC 3339 timestamp with an explicit offset, as CloudEvents requires. */
export const EventTime = z.iso.datetime({ offset: true });
/** Agency command ids are at most 128 characters: they become Temporal update ids. */
export const CommandId = z.string().regex(COMMAND_ID_PATTERN, 'printable ASCII without spaces, 1-128 characters');
export const EventType = z.string().max(200).regex(EVENT_TYPE_PATTERN, 'a dotted, lowercase, versioned type');
/** Agency ids are short lowercase slugs; they appear in workflow ids, `ce_source` and reply keys. */
export const AgencyId = z.string().regex(AGENCY_ID_PATTERN, 'a lowercase slug such as "nsa"');

export const Id = z.string().regex(ID_PATTERN, 'an id of letters, digits, ".", "_" or "-" (at most 64)');
/** Ids the workflow derives from others (`<agencyId>-f<n>`, `<agencyId>-ir-<n>`), so a little longer than `Id`. */
export const RefId = z.string().regex(REF_ID_PATTERN, 'an id of letters, digits, ".", "_" or "-" (at most 128)');
export const Domain = z.string().regex(DOMAIN_PATTERN, 'a lowercase domain slug such as "offensive-cyber"');
export const CweId = z.string().regex(CWE_ID_INPUT_PATTERN, 'a CWE id such as "CWE-79"');

/** Non-empty text of at most `max` characters. */
export const text = (max: number) => z.string().min(1).max(max);
