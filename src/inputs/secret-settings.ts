// Which input values are secrets: the admin password, the github-token and the tljh-config
// settings whose key names a secret. The instance helper redacts with the same word list.
import type { HubSpec } from './spec.ts';

/**
 * Words that mark a tljh-config setting's value as a secret (client_secret, password,
 * access_token, api_key...): the value is masked in logs, redacted on the instance from the
 * output it sends back, and kept out of everything sent to GitHub. Over-matching only hides a
 * harmless value; under-matching leaks one.
 */
export const SECRET_SETTING_WORDS = [
  'secret',
  'password',
  'passwd',
  'token',
  'apikey',
  'api_key',
  'private_key',
  'credential',
] as const;

export function isSecretSetting(key: string): boolean {
  const lower = key.toLowerCase();
  return SECRET_SETTING_WORDS.some((w) => lower.includes(w));
}

/** Every secret the inputs carry: to mask in logs and keep out of GitHub API bodies. */
export function specSecrets(
  spec: Pick<HubSpec, 'adminPassword' | 'githubToken' | 'tljhSettings'>,
): string[] {
  return [
    spec.adminPassword,
    spec.githubToken,
    ...spec.tljhSettings.filter(([key]) => isSecretSetting(key)).map(([, value]) => value),
  ].filter((s): s is string => Boolean(s));
}
