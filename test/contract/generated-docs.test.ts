import fs from 'node:fs';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { GENERATED_DIR, generatedFiles } from '../../events/generate';
import { AGENCY_INBOX_CHANNEL, TOPICS } from '../../events/topics';
import { CATALOG, REPLY_TYPES, inboxEntries } from '../../events/catalog';

describe('generated event documents', () => {
  const files = generatedFiles();

  it('match the checked-in files (run `npm run generate:events` after changing a schema)', () => {
    const onDisk = new Map<string, string>();
    onDisk.set('asyncapi.json', fs.readFileSync(path.join(GENERATED_DIR, 'asyncapi.json'), 'utf8'));
    for (const f of fs.readdirSync(path.join(GENERATED_DIR, 'schemas')))
      onDisk.set(`schemas/${f}`, fs.readFileSync(path.join(GENERATED_DIR, 'schemas', f), 'utf8'));
    expect([...onDisk.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [rel, content] of files) expect({ file: rel, content: onDisk.get(rel) }).toEqual({ file: rel, content });
  });

  it('hold one JSON Schema per catalog type that refuses unknown fields', () => {
    for (const entry of CATALOG) {
      const schema = JSON.parse(files.get(`schemas/${entry.type}.json`)!) as { title: string; additionalProperties: unknown };
      expect(schema.title).toBe(entry.type);
      expect(schema.additionalProperties).toBe(false);
    }
  });

  it('form an AsyncAPI document the official parser accepts without errors or warnings', async () => {
    const parser = new Parser();
    const { document, diagnostics } = await parser.parse(files.get('asyncapi.json')!);
    // Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toMatch(/^3\./);
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    expect(addresses.sort()).toEqual([...Object.values(TOPICS), AGENCY_INBOX_CHANNEL].sort());
    const messageIds = document!
      .allMessages()
      .all()
      .map((m) => m.id());
    for (const entry of CATALOG) expect(messageIds).toContain(entry.type);
    const commands = document!
      .channels()
      .all()
      .find((c) => c.address() === TOPICS.agencyCommands)!;
    expect(
      commands
        .operations()
        .all()
        .map((o) => o.action()),
    ).toEqual(['receive']);
  }, 60_000);

  it("catalogue each agency's inbox: a parameterised channel with the inbox events and the replies", () => {
    const doc = JSON.parse(files.get('asyncapi.json')!) as {
      channels: Record<string, { address: string; parameters?: Record<string, unknown>; messages: Record<string, unknown> }>;
    };
    const inbox = Object.values(doc.channels).find((c) => c.address === AGENCY_INBOX_CHANNEL)!;
    expect(Object.keys(inbox.parameters ?? {})).toEqual(['agencyId']);
    expect(Object.keys(inbox.messages).sort()).toEqual([...inboxEntries().map((e) => e.type), REPLY_TYPES.accepted, REPLY_TYPES.rejected].sort());
    expect(inboxEntries().length).toBeGreaterThanOrEqual(10);
  });

  it('carry each command schema’s required fields into the AsyncAPI payloads', () => {
    const doc = JSON.parse(files.get('asyncapi.json')!) as { components: { messages: Record<string, { payload: { required?: string[] } }> } };
    const payload = doc.components.messages['gov.preflight.assessment.request-info.v1']!.payload;
    expect(payload.required).toEqual(['question']);
  });
});
