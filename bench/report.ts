/** The benchmark's table: each figure beside its goal, whether it meets it, and why not. */

/** `report`: a figure with no threshold (the issue asks to report it). */
export type Verdict = 'pass' | 'fail' | 'report' | 'not measured';

export interface Row {
  section: string;
  figure: string;
  measured: string;
  goal: string;
  verdict: Verdict;
  /** Why a goal is missed and what would fix it; a note otherwise. */
  why?: string;
}

const COLUMNS = [
  { title: 'figure', width: 44 },
  { title: 'measured', width: 30 },
  { title: 'goal', width: 22 },
  { title: 'result', width: 12 },
  { title: 'why / notes', width: 70 },
] as const;

/** Render `rows` as a fixed-width text table, grouped by section, long cells wrapped within their column. */
export function renderTable(rows: readonly Row[]): string {
  const rule = `+${COLUMNS.map((column) => '-'.repeat(column.width + 2)).join('+')}+`;
  const lines = [rule, line(COLUMNS.map((column) => column.title)), rule];
  let section: string | undefined;
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      if (lines.length > 3) lines.push(rule);
      lines.push(`| ${row.section.toUpperCase().padEnd(rule.length - 4)} |`);
    }
    lines.push(line([row.figure, row.measured, row.goal, row.verdict.toUpperCase(), row.why ?? '']));
  }
  lines.push(rule);
  const counts = (['pass', 'fail', 'report', 'not measured'] as const)
    .map((verdict) => `${rows.filter((row) => row.verdict === verdict).length} ${verdict}`)
    .join(', ');
  lines.push(`${rows.length} figures: ${counts}`);
  return `${lines.join('\n')}\n`;
}

function line(cells: readonly string[]): string {
  const wrapped = cells.map((cell, index) => wrap(cell, COLUMNS[index]?.width ?? 20));
  const height = Math.max(...wrapped.map((cell) => cell.length));
  const out: string[] = [];
  for (let n = 0; n < height; n += 1) {
    out.push(`| ${wrapped.map((cell, index) => (cell[n] ?? '').padEnd(COLUMNS[index]?.width ?? 20)).join(' | ')} |`);
  }
  return out.join('\n');
}

/** Split `text` into lines of at most `width` characters, at spaces where possible. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let current = '';
    for (const word of paragraph.split(' ')) {
      let rest = word;
      while (rest.length > width) {
        if (current) lines.push(current);
        current = '';
        lines.push(rest.slice(0, width));
        rest = rest.slice(width);
      }
      if (!current) current = rest;
      else if (current.length + 1 + rest.length <= width) current += ` ${rest}`;
      else {
        lines.push(current);
        current = rest;
      }
    }
    lines.push(current);
  }
  return lines;
}

/** `1,234` */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** `12.3 ms` */
export function formatMs(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** `1,066 KB` */
export function formatKb(bytes: number): string {
  return `${formatCount(bytes / 1024)} KB`;
}

/** `GetItem 1, PutItem 2` */
export function formatBreakdown(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([name, count]) => `${name} ${count}`).join(', ');
}
