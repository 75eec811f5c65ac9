// Generated from action.yml by scripts/action-meta.ts: do not edit. `npm run generate` rewrites it.

/**
 * Each input's default, as action.yml declares it (GitHub's runner applies them; parseInputs
 * applies them too, so a step that passes an empty value gets the default). Defaults that are
 * expressions (github-token's `${{ github.token }}`) are the runner's to evaluate: they are
 * not here, and the code reads those inputs as given (empty when unset).
 */
export const DEFAULTS = {
  'hub-name': 'tljh',
  state: 'running',
  'instance-type': 't3.small',
  'market-type': 'on-demand',
  'spot-fallback': 'false',
  'allowed-cidrs': '0.0.0.0/0, ::/0',
  'root-volume-size': '20',
  'ubuntu-version': '24.04',
  'image-cache': 'false',
  'image-cache-keep': '2',
  'image-cache-max-unused': '30d',
  'tljh-version': '2.0.0',
  'install-timeout': '30',
  'dry-run': 'false',
  'elastic-ip': 'false',
  'https-staging': 'false',
  'https-wait': '5',
  'expired-only': 'false',
  'pr-comment': 'auto',
} as const;

/** Every input of action.yml, in its order. */
export const INPUT_NAMES = [
  'hub-name',
  'state',
  'admin-user',
  'instance-type',
  'aws-region',
  'iam-instance-profile',
  'subnet-id',
  'market-type',
  'spot-fallback',
  'security-group-ids',
  'allowed-cidrs',
  'root-volume-size',
  'ubuntu-version',
  'image-id',
  'image-cache',
  'image-cache-keep',
  'image-cache-max-unused',
  'tljh-version',
  'tags',
  'install-timeout',
  'dry-run',
  'admin-password',
  'tljh-config',
  'tljh-plugins',
  'user-requirements-url',
  'elastic-ip',
  'dns-zone-id',
  'dns-name',
  'https-domain',
  'https-email',
  'https-staging',
  'https-wait',
  'ttl',
  'expired-only',
  'github-token',
  'pr-comment',
] as const;

/** Every output of action.yml, in its order. */
export const OUTPUT_NAMES = [
  'hub-url',
  'instance-id',
  'public-ip',
  'state',
  'changed',
  'tljh-version',
  'admin-password',
  'expires-at',
  'image-id',
  'image-source',
  'hubs',
] as const;
