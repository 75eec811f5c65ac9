// A stand-in for @actions/core's `core.summary`: records each heading, table, list and raw line
// that writeSummary/writeFleetSummary add, in order, as plain text. Not a test file.
import type * as core from '@actions/core';

type Summary = typeof core.summary;
type Cell = string | { data: string; header?: boolean };

export interface SummaryRecorder {
  /** What to hand to writeSummary/writeFleetSummary. */
  summary: Summary;
  /** Every addition, in order: `h2 <text>`, `list: a | b`, `raw: <text>`, `table` (rows below). */
  items: string[];
  /** The rows of every table added, each cell as its text (headers included). */
  rows: string[][];
  /** Everything written, as one string (for "never contains" checks). */
  text(): string;
}

const cellText = (c: Cell): string => (typeof c === 'string' ? c : c.data);

export function recordSummary(): SummaryRecorder {
  const items: string[] = [];
  const rows: string[][] = [];
  const fake = {
    addHeading(text: string, level: number | string = 1) {
      items.push(`h${level} ${text}`);
      return fake;
    },
    addTable(table: Cell[][]) {
      items.push('table');
      for (const row of table) rows.push(row.map(cellText));
      return fake;
    },
    addList(list: string[]) {
      items.push(`list: ${list.join(' | ')}`);
      return fake;
    },
    addRaw(text: string) {
      items.push(`raw: ${text}`);
      return fake;
    },
  };
  return {
    summary: fake as unknown as Summary,
    items,
    rows,
    text: () => [...items, ...rows.map((r) => r.join(' | '))].join('\n'),
  };
}
