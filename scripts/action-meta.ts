// action.yml is the one source of the inputs, their defaults and the outputs: this writes what
// repeats it, src/inputs/defaults.ts and the README's Inputs and Outputs tables, from it.
// Usage: node scripts/action-meta.ts [--check] [--root <dir>]
//   (no flag)     rewrite both artefacts (`npm run generate`);
//   --check       change nothing, exit 1 naming each artefact that differs (`npm run lint`);
//   --root <dir>  a copy of the repository to work on (tests), instead of this one.
import yaml from 'js-yaml';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';

const REPO = join(import.meta.dirname, '..');
const DEFAULTS_FILE = 'src/inputs/defaults.ts';
const README_FILE = 'README.md';

interface Field {
  name: string;
  description: string;
  required: boolean;
  default?: string;
}

interface ActionMeta {
  inputs: Field[];
  outputs: Field[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The inputs and outputs of action.yml, in its order; throws on a field without a description. */
function readAction(file: string): ActionMeta {
  const doc = yaml.load(readFileSync(file, 'utf8'));
  if (!isRecord(doc) || !isRecord(doc.inputs) || !isRecord(doc.outputs)) {
    throw new Error(`${file}: no inputs or outputs mapping`);
  }
  const fields = (kind: string, map: Record<string, unknown>): Field[] =>
    Object.entries(map).map(([name, spec]) => {
      if (!isRecord(spec) || typeof spec.description !== 'string' || !spec.description.trim()) {
        throw new Error(`${file}: ${kind} '${name}' has no description`);
      }
      const hasDefault = spec.default !== undefined && spec.default !== null;
      return {
        name,
        description: spec.description.trim(),
        required: spec.required === true,
        ...(hasDefault ? { default: String(spec.default) } : {}),
      };
    });
  return { inputs: fields('input', doc.inputs), outputs: fields('output', doc.outputs) };
}

/** `${{ ... }}`: the runner evaluates it; the action only ever sees the result. */
const isExpression = (value: string): boolean => /\$\{\{/.test(value);

async function defaultsModule(meta: ActionMeta): Promise<string> {
  const defaults = meta.inputs.filter(
    (i): i is Field & { default: string } => i.default !== undefined && !isExpression(i.default),
  );
  const list = (fields: Field[]) => fields.map((f) => JSON.stringify(f.name)).join(', ');
  const source = `// Generated from action.yml by scripts/action-meta.ts: do not edit. \`npm run generate\` rewrites it.

/**
 * Each input's default, as action.yml declares it (GitHub's runner applies them; parseInputs
 * applies them too, so a step that passes an empty value gets the default). Defaults that are
 * expressions (github-token's \`\${{ github.token }}\`) are the runner's to evaluate: they are
 * not here, and the code reads those inputs as given (empty when unset).
 */
export const DEFAULTS = {${defaults.map((i) => `${JSON.stringify(i.name)}: ${JSON.stringify(i.default)}`).join(', ')}} as const;

/** Every input of action.yml, in its order. */
export const INPUT_NAMES = [${list(meta.inputs)}] as const;

/** Every output of action.yml, in its order. */
export const OUTPUT_NAMES = [${list(meta.outputs)}] as const;
`;
  const options = await prettier.resolveConfig(join(REPO, DEFAULTS_FILE));
  return prettier.format(source, { ...options, filepath: DEFAULTS_FILE });
}

/** A table cell: one line, `|` escaped (also inside code spans, as GitHub's tables need). */
function cell(text: string): string {
  return text.replace(/\r?\n/g, '<br>').replace(/\|/g, '\\|').trim();
}

/** A code span that holds any text: the fence is longer than any run of backticks inside. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function inputsTable(meta: ActionMeta): string[] {
  return [
    row(['input', 'required', 'default', 'description']),
    row(['---', '---', '---', '---']),
    ...meta.inputs.map((i) =>
      row([
        code(i.name),
        i.required ? 'yes' : 'no',
        i.default === undefined || i.default === '' ? '' : cell(code(i.default)),
        cell(i.description),
      ]),
    ),
  ];
}

function outputsTable(meta: ActionMeta): string[] {
  return [
    row(['output', 'description']),
    row(['---', '---']),
    ...meta.outputs.map((o) => row([code(o.name), cell(o.description)])),
  ];
}

const NOTE =
  '<!-- Generated from action.yml by scripts/action-meta.ts: edit the descriptions there and run `npm run generate`. -->';

/** Replaces what lies between `<!-- action-<name>:start -->` and its end marker. */
function replaceBetweenMarkers(text: string, name: string, body: string[]): string {
  const start = `<!-- action-${name}:start -->`;
  const end = `<!-- action-${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from || text.indexOf(start, from + 1) >= 0) {
    throw new Error(`${README_FILE}: needs one '${start}' followed by one '${end}'`);
  }
  const block = [start, NOTE, '', ...body, '', ''].join('\n');
  return text.slice(0, from) + block + text.slice(to);
}

function readmeText(current: string, meta: ActionMeta): string {
  const withInputs = replaceBetweenMarkers(current, 'inputs', inputsTable(meta));
  return replaceBetweenMarkers(withInputs, 'outputs', outputsTable(meta));
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, root: { type: 'string' } },
});
const root = resolve(values.root ?? REPO);

try {
  const meta = readAction(join(root, 'action.yml'));
  const readme = readFileSync(join(root, README_FILE), 'utf8');
  const artefacts: [string, string, string][] = [
    [DEFAULTS_FILE, readOr(join(root, DEFAULTS_FILE), ''), await defaultsModule(meta)],
    [README_FILE, readme, readmeText(readme, meta)],
  ];
  let drifted = 0;
  for (const [file, current, wanted] of artefacts) {
    if (current === wanted) continue;
    if (values.check) {
      console.error(`${file}: differs from action.yml; run 'npm run generate'`);
      drifted++;
    } else {
      writeFileSync(join(root, file), wanted);
      console.log(`${file}: written from action.yml`);
    }
  }
  if (values.check && !drifted) console.log('action.yml: defaults and README tables match');
  process.exitCode = drifted ? 1 : 0;
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 2;
}
