// The defaults action.yml declares for the inputs. GitHub's runner applies them (the action
// itself sees only INPUT_* variables), so the harness must too.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { REPO_ROOT } from './paths.ts';

export const ACTION_YML = join(REPO_ROOT, 'action.yml');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The token the emulated GitHub API accepts: what `${{ github.token }}` gives in the tests. */
export const WORKFLOW_TOKEN = 'ghs_e2eWorkflowToken0000000000000000000';

/** The runner evaluates expressions in defaults; the harness knows the one action.yml uses. */
function evaluate(value: string): string {
  return value.replace(/\$\{\{\s*github\.token\s*\}\}/g, WORKFLOW_TOKEN);
}

/** Input name -> default, for inputs that have one. Empty when action.yml does not exist. */
export function actionDefaults(file = ACTION_YML): Record<string, string> {
  if (!existsSync(file)) return {};
  const doc = yaml.load(readFileSync(file, 'utf8'));
  const inputs = isRecord(doc) && isRecord(doc.inputs) ? doc.inputs : {};
  const defaults: Record<string, string> = {};
  for (const [name, spec] of Object.entries(inputs)) {
    if (isRecord(spec) && spec.default !== undefined && spec.default !== null) {
      defaults[name] = evaluate(String(spec.default));
    }
  }
  return defaults;
}
