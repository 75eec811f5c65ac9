// POSIX sh quoting of values put into the scripts run on the instance: whatever the value, sh
// reads back exactly that value as one word.
import { execFileSync } from 'node:child_process';
import { MARK, shQuote } from '../src/scripts/shell.ts';

test('a plain value is single-quoted; a quote inside is closed, escaped and reopened', () => {
  expect(shQuote('naomi')).toBe("'naomi'");
  expect(shQuote('')).toBe("''");
  expect(shQuote("it's")).toBe(`'it'"'"'s'`);
});

test('sh reads back every hostile value as exactly one word', () => {
  const values = [
    "it's",
    '$(touch /tmp/pwned)',
    '`id`',
    '"; rm -rf / #',
    'a b\tc\nd',
    "''",
    '\\',
    '-n',
    '*',
    'é ü 日本',
  ];
  const script = `for v in ${values.map(shQuote).join(' ')}; do printf '%s\\0' "$v"; done`;
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: {} });
  expect(out.split('\0').slice(0, -1)).toEqual(values);
});

test('report lines start with the marker the runner looks for', () => {
  expect(MARK).toBe('::tljh::');
});
