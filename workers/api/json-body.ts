import type { FastifyInstance } from 'fastify';
import { HttpProblem } from './problems';

/** Keys no request body may hold anywhere: they would poison prototypes in code that merges objects. */
function forbiddenKey(value: unknown, path: string, depth = 0): string | undefined {
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const hit = forbiddenKey(item, `${path}.${i}`, depth + 1);
      if (hit) return hit;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if (key === '__proto__') return here;
    if (key === 'constructor' && item !== null && typeof item === 'object' && 'prototype' in item) return `${here}.prototype`;
    const hit = forbiddenKey(item, here, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * The api's only body parser: `application/json` (any charset parameter). A body that is not JSON is 400
 * `invalid-json` with the parser's reason; valid JSON holding a `__proto__` key or `constructor.prototype` is 400
 * `forbidden-key` naming where. Every other media type, `text/plain` included, is 415 (fastify's own text parser is
 * removed, so a JSON text sent as `text/plain` is not taken for a string).
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/json(\s*;.*)?$/i, { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(new HttpProblem(400, 'invalid-json', 'Body is not valid JSON', 'The body is empty; send a JSON document or no content-type.'), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      done(new HttpProblem(400, 'invalid-json', 'Body is not valid JSON', `The body is not valid JSON: ${(e as Error).message.slice(0, 200)}`), undefined);
      return;
    }
    const key = forbiddenKey(parsed, '');
    if (key !== undefined) {
      done(
        new HttpProblem(
          400,
          'forbidden-key',
          'Forbidden key in body',
          `The key "${key}" is forbidden: no body may hold "__proto__" or "constructor.prototype".`,
          [{ path: key, message: 'forbidden key' }],
        ),
        undefined,
      );
      return;
    }
    done(null, parsed);
  });
}
