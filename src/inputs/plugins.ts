// tljh-plugins: pip requirements, one per line. The install script passes them, each
// single-quoted, after one `--plugin` flag; TLJH's installer hands the list to
// `pip install --upgrade` as an argument list (tljh/conda.py ensure_pip_packages). So each line
// must be exactly one requirement that neither argparse nor pip can read as an option, and it
// must hold nothing the script's quoting would have to deal with.
import { InputError } from '../errors.ts';
import { printable } from './fields.ts';

// PEP 508's grammar, narrowed: a project or extra name, a version clause, a direct https URL.
const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?';
const EXTRAS = `\\[\\s*(?:${NAME}(?:\\s*,\\s*${NAME})*)?\\s*\\]`;
// PEP 440 versions start with a digit (an optional v before it); === takes any string.
const VERSION =
  '(?:(?:==|!=|<=|>=|~=|<|>)\\s*v?[0-9][A-Za-z0-9_.*+!-]{0,63}|===\\s*[A-Za-z0-9_.*+!-]{1,64})';
const VERSIONS = `${VERSION}(?:\\s*,\\s*${VERSION})*`;
// https only (no http, ssh or file), and no user:password@ before the host: a credential in a
// plugin URL would be logged. `@` is allowed after the host (git+https://...@v1 names a ref).
const URL =
  '(?:git\\+)?https://[A-Za-z0-9.-]{1,253}(?::\\d{1,5})?(?:/[A-Za-z0-9._~/%:@+=&#?!,-]{0,500})?';
const REQUIREMENT = new RegExp(
  `^(?:${NAME}\\s*(?:${EXTRAS})?\\s*(?:${VERSIONS}|\\(\\s*${VERSIONS}\\s*\\)|@\\s*${URL})?|${URL})$`,
);
const MAX_LENGTH = 600;

export const PLUGINS_ACCEPTED =
  'one pip requirement per line, such as pkg>=1,<2, pkg[a,b]==1.0, git+https://github.com/org/plugin@v1 or name @ https://host/p.whl; https URLs only; no options, environment markers, quotes, backslashes, $ or backticks';

function reject(line: string, problem: string): never {
  throw new InputError('tljh-plugins', `line '${printable(line)}' ${problem}`, PLUGINS_ACCEPTED);
}

/** The requirements, one per non-empty line; lines starting with # are comments. */
export function parsePlugins(raw: string): string[] {
  const plugins: string[] = [];
  for (const line of raw.split(/\r?\n/).map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    // The specific problems first, so that the message says what to change.
    if (line.length > MAX_LENGTH) reject(line, `is longer than ${MAX_LENGTH} characters`);
    if (line.startsWith('-')) reject(line, 'starts with - (an option)');
    if (/[^\x20-\x7e]|['"\\$`]/.test(line)) {
      reject(line, 'holds a control or non-ASCII character, a quote, \\, $ or `');
    }
    if (line.includes(';')) reject(line, 'has an environment marker (;)');
    if (!REQUIREMENT.test(line)) reject(line, 'is not one pip requirement');
    plugins.push(line);
  }
  return plugins;
}
