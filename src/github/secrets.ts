// The run's secrets, kept out of everything sent to GitHub's API. The runner masks secrets in
// log lines only: a pull request comment is stored and shown exactly as sent, so the text is
// redacted here before it leaves (src/github/pr-comment.ts is the one place that sends it).
import * as core from '@actions/core';

export const REDACTED = '***';

export class Secrets {
  private readonly forms = new Set<string>();

  /**
   * Registers a secret: as written, each of its lines (the runner masks multi-line secrets
   * line by line, and output is often cut at line ends), and the forms it takes once escaped
   * into JSON, a URL, or a Markdown code block.
   */
  add(secret: string | undefined): void {
    if (!secret) return;
    const lines = secret.split(/\r?\n/).filter((l) => l.trim());
    for (const plain of new Set([secret, ...lines])) {
      this.forms.add(plain);
      this.forms.add(JSON.stringify(plain).slice(1, -1));
      this.forms.add(encodeURIComponent(plain));
      this.forms.add(plain.replace(/`{3,}/g, "'''"));
    }
  }

  get size(): number {
    return this.forms.size;
  }

  /** The text with every registered form of every secret replaced by ***. */
  redact(text: string): string {
    // Longest first: a secret that contains a shorter one is hidden whole, not in pieces.
    const forms = [...this.forms].filter(Boolean).sort((a, b) => b.length - a.length);
    let out = text;
    for (const form of forms) out = out.split(form).join(REDACTED);
    return out;
  }

  /** Like redact, but `keep` (the comment's marker) is left intact wherever it occurs. */
  redactAround(text: string, keep: string): string {
    return text
      .split(keep)
      .map((part) => this.redact(part))
      .join(keep);
  }
}

/** Everything this run registered as secret (through maskSecret). */
export const runSecrets = new Secrets();

/**
 * Masks a secret in the log (core.setSecret) and keeps it out of GitHub API bodies. Use it
 * instead of core.setSecret, so that no secret is masked in one place and sent in the other.
 */
export function maskSecret(secret: string | undefined, secrets: Secrets = runSecrets): void {
  if (!secret) return;
  core.setSecret(secret);
  // The runner matches a mask within one line: a multi-line secret is masked line by line too.
  const lines = secret.split(/\r?\n/).filter((l) => l.trim());
  if (lines.length > 1) for (const line of lines) core.setSecret(line);
  secrets.add(secret);
}
