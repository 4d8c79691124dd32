/** The first value `pick` finds on an error or along its `cause` chain, looking at most `depth` errors deep. */
export function findInCauses<T>(error: unknown, pick: (e: Record<string, unknown>) => T | undefined, depth = 4): T | undefined {
  let cur: unknown = error;
  for (let i = 0; i < depth && typeof cur === 'object' && cur !== null; i++) {
    const found = pick(cur as Record<string, unknown>);
    if (found !== undefined) return found;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
