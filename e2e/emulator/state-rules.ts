// EC2 refuses a state change an instance cannot make from where it is, with
// IncorrectInstanceState (EC2 API reference, "Error codes"): a terminated or shutting-down
// instance can be neither stopped nor started, a pending one not stopped, a stopping one not
// started. moto does not: it "stops" a terminated instance, which then reads stopped again.
// The front asks these rules before it forwards StopInstances or StartInstances.

const REFUSED: Record<string, readonly string[]> = {
  StopInstances: ['pending', 'shutting-down', 'terminated'],
  StartInstances: ['stopping', 'shutting-down', 'terminated'],
};

/** The operations these rules judge. */
export const STATE_CHANGES = new Set(Object.keys(REFUSED));

/** The instance ids of an EC2 query-protocol request (InstanceId.1, InstanceId.2, ...). */
export function requestedInstances(form: Record<string, string>): string[] {
  return Object.entries(form)
    .filter(([key]) => /^InstanceId\.\d+$/.test(key))
    .map(([, id]) => id);
}

/** EC2's message for the first instance that cannot make the change, or undefined. */
export function refusal(
  operation: string,
  states: { id: string; state: string }[],
): string | undefined {
  const refused = REFUSED[operation];
  const bad = refused && states.find((s) => refused.includes(s.state));
  if (!bad) return undefined;
  const verb = operation === 'StopInstances' ? 'stopped' : 'started';
  return `The instance '${bad.id}' is not in a state from which it can be ${verb}.`;
}
