// The job summary: the hub, its URL, its state and what this run did.
import type * as core from '@actions/core';
import type { HubSpec } from './inputs.ts';
import { formatSeconds } from './phases.ts';
import { describeStep } from './plan.ts';
import type { FleetOutcome } from './fleet.ts';
import type { Outcome } from './context.ts';

type Summary = typeof core.summary;

export function writeSummary(summary: Summary, spec: HubSpec, outcome: Outcome): Summary {
  const rows: [string, string][] = [
    ['Hub', spec.hubName],
    ['State', outcome.state],
    [
      'URL',
      outcome.hubUrl
        ? `${outcome.hubUrl}${outcome.httpsPending ? ' (not ready: no certificate yet)' : ''}`
        : '-',
    ],
    ['Instance', outcome.instanceId ?? '-'],
    [
      'Public IP',
      outcome.publicIp
        ? `${outcome.publicIp}${spec.elasticIp ? ' (Elastic IP: kept across stop and start)' : ''}`
        : '-',
    ],
    ...(spec.dns ? [['DNS record', describeRecord(spec, outcome)] as [string, string]] : []),
    ['Instance type', outcome.launchedType ?? spec.instanceType],
    ['Region', spec.region],
    ['Admin user', spec.adminUser ?? '-'],
    ['JupyterHub', outcome.hubVersion ?? '-'],
  ];
  summary
    .addHeading(
      `JupyterHub '${spec.hubName}': ${outcome.state}${spec.dryRun ? ' (dry run)' : ''}`,
      2,
    )
    .addTable([
      [
        { data: 'Field', header: true },
        { data: 'Value', header: true },
      ],
      ...rows,
    ]);
  if (outcome.changes?.length) {
    summary
      .addHeading(spec.dryRun ? 'Spec: what would change' : 'Spec: what changed', 3)
      .addTable([
        ['Group', 'Change', 'Detail'].map((data) => ({ data, header: true })),
        ...outcome.changes.map((g) => [
          g.group,
          !g.changed
            ? 'unchanged'
            : outcome.pending?.includes(g.group)
              ? 'pending (next running run)'
              : spec.dryRun
                ? 'would change'
                : 'changed',
          g.detail,
        ]),
      ]);
  }
  if (outcome.pending?.length) {
    summary.addRaw(
      `⏸️ Pending until the next run with state running (a stop only stops): ${outcome.pending.join(', ')}.`,
      true,
    );
  }
  if (spec.dryRun) {
    summary.addHeading('Plan (not applied)', 3).addList(outcome.plan.steps.map(describeStep));
  } else {
    summary
      .addHeading('What this run did', 3)
      .addList(outcome.done.length ? outcome.done : ['nothing: the hub already matched']);
  }
  if (outcome.checks.length) summary.addHeading('Checks', 3).addList(outcome.checks);
  const phases = outcome.phases?.filter(([, ms]) => ms > 0) ?? [];
  if (phases.length && !spec.dryRun) {
    const total = phases.reduce((sum, [, ms]) => sum + ms, 0);
    summary
      .addHeading('Where the time goes', 3)
      .addTable([
        ['Phase', 'Time'].map((data) => ({ data, header: true })),
        ...phases.map(([phase, ms]) => [phase, formatSeconds(ms)]),
        ['all phases', formatSeconds(total)],
      ]);
  }
  if (outcome.httpsPending) summary.addRaw(`⚠️ ${outcome.httpsPending}`, true);
  if (outcome.expiresAt) summary.addRaw(`Expires ${outcome.expiresAt} (ttl).`, true);
  if (outcome.hubUrl && spec.adminUser) summary.addRaw(loginNote(spec, outcome), true);
  return summary;
}

/** Where the hub's name points after this run (dns-name). */
function describeRecord(spec: HubSpec, outcome: Outcome): string {
  const name = spec.dns!.name;
  if (outcome.state === 'running' && outcome.publicIp)
    return `${name} → ${outcome.publicIp} (Route 53 zone ${spec.dns!.zoneId}, in sync)`;
  if (outcome.state === 'stopped')
    return spec.elasticIp
      ? `${name} → the hub's Elastic IP (kept while stopped)`
      : `${name}: no A record while stopped (written again at the next start)`;
  return `${name}: no record (deleted with the hub)`;
}

export function writeFleetSummary(summary: Summary, spec: HubSpec, outcome: FleetOutcome): Summary {
  const verb = spec.state === 'stopped' ? 'Stop' : 'Terminate';
  const scope = `${spec.expiredOnly ? 'expired ' : ''}hubs matching '${spec.hubName}'`;
  summary.addHeading(`${verb} ${scope}${spec.dryRun ? ' (dry run)' : ''}`, 2);
  if (!outcome.rows.length) return summary.addRaw('No hub matched.', true);
  return summary.addTable([
    ['Hub', 'Instance', 'Before', 'Result'].map((data) => ({ data, header: true })),
    ...outcome.rows.map((r) => [
      r.hubName,
      r.instanceId,
      r.before,
      `${r.ok ? '' : 'FAILED: '}${r.result}`,
    ]),
  ]);
}

/** How the admin logs in: never "the first visitor chooses the password". */
export function loginNote(spec: HubSpec, outcome: Outcome): string {
  const admin = `<code>${spec.adminUser}</code>`;
  const auth = spec.tljhSettings.find(([k]) => k === 'auth.type')?.[1];
  if (auth) return `Users log in through <code>${auth}</code>; ${admin} is the admin.`;
  if (spec.adminPassword)
    return `${admin} logs in with the <code>admin-password</code> you passed.`;
  if (outcome.generatedPassword) {
    return (
      `A password was generated for ${admin}: it is this step's <code>admin-password</code> output (masked in logs). ` +
      'Save it from a later step of this job, for example into your password manager or a repository secret; it is not shown again.'
    );
  }
  return `${admin} logs in with the password set when this hub was first installed (the <code>admin-password</code> output of that run).`;
}
