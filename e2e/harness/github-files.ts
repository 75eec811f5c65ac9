// The files GitHub's runner hands an action: GITHUB_OUTPUT and friends.

/**
 * Parses a GITHUB_OUTPUT file: `name<<DELIMITER` heredocs (what @actions/core writes) and
 * plain `name=value` lines.
 */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const end = lines.indexOf(delimiter!, i + 1);
      if (end === -1) throw new Error(`GITHUB_OUTPUT: no closing ${delimiter} for ${name}`);
      outputs[name!] = lines.slice(i + 1, end).join('\n');
      i = end;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`GITHUB_OUTPUT: cannot parse line ${JSON.stringify(line)}`);
    outputs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return outputs;
}

/** The environment variable the runner uses for an input: INPUT_ + upper case, hyphens kept. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}
