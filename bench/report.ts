import type { ComparisonResult } from './lib/types';

export interface ReportInput {
  mode: string;
  startedAt: string;
  environment: Record<string, unknown>;
  results: ComparisonResult[];
  failures: { id: string; error: string }[];
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 0.01)) return x.toExponential(2);
  return String(Math.round(x * 1000) / 1000);
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The run as a markdown page: one summary table, then each comparison's counters, CPU time and notes. */
export function renderMarkdown(r: ReportInput): string {
  const lines: string[] = [];
  lines.push(`# Preflight benchmarks (${r.mode} mode, ${r.startedAt})`, '');
  lines.push('| | comparison | metric | candidate | baseline | ratio median [p25–p75] (min–max, blocks) | target | met |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const c of [...r.results].sort((a, b) => a.id.localeCompare(b.id))) {
    const q = c.ratio;
    lines.push(
      `| ${c.id} | ${cell(c.title)} | ${cell(c.metric)} | ${num(c.candidateValue)} | ${num(c.baselineValue)} | ` +
        `${num(q.median)} [${num(q.p25)}–${num(q.p75)}] (${num(q.min)}–${num(q.max)}, ${q.blocks}) | ${cell(c.target)} | ${c.met ? 'yes' : '**no**'} |`,
    );
  }
  for (const f of r.failures) lines.push(`| ${f.id} | failed: ${cell(f.error)} | | | | | | **no** |`);
  for (const c of r.results) {
    lines.push('', `## ${c.id}: ${c.title}`, '', `Candidate: ${c.candidate}. Baseline: ${c.baseline}.`, '');
    const counters = Object.entries(c.counters);
    if (counters.length > 0) {
      lines.push('| counter | value |', '|---|---|');
      for (const [k, v] of counters) lines.push(`| ${cell(k)} | ${num(v)} |`);
      lines.push('');
    }
    const cpu = Object.entries(c.cpuSeconds);
    if (cpu.length > 0) lines.push(`CPU seconds: ${cpu.map(([k, v]) => `${k} ${num(v)}`).join(', ')}.`, '');
    for (const n of c.notes) lines.push(`- ${n}`);
  }
  lines.push('', '## Environment', '', '```json', JSON.stringify(r.environment, null, 1), '```', '');
  return lines.join('\n');
}
