// The test hub's spec, parsed from inputs as the action parses them: hub 'workshop', admin
// naomi, instance profile tljh-ssm, region eu-west-1, and what a test adds. Not a test file.
import { parseInputs, type HubSpec } from '../../src/inputs.ts';

export function spec(inputs: Record<string, string> = {}): HubSpec {
  const all: Record<string, string> = {
    'hub-name': 'workshop',
    'admin-user': 'naomi',
    'iam-instance-profile': 'tljh-ssm',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '', { AWS_REGION: 'eu-west-1' });
}
