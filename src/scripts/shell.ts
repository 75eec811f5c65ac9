// What every script run on the instance shares: the report line marker and POSIX sh quoting.

/** Lines the scripts print so the runner can read the result from GetCommandInvocation. */
export const MARK = '::tljh::';

/** Quotes a value for POSIX sh: the only character that needs care inside '...' is ' itself. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}
