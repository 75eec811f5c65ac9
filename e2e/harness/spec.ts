// Helpers for the spec-change tests (e2e/spec-changes.test.ts): what a re-run sent, what EC2
// now has (read with the SDK against the emulator), what TLJH on the hub now has, and the job
// summary's "Spec" table.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  type Instance,
  type Volume,
} from '@aws-sdk/client-ec2';
import { emulatorEc2 } from './ec2.ts';
import { getCalls, resetEmulator, setScenario, type RecordedCall } from './emulator.ts';
import { runOnInstance } from './instance.ts';
import { ACTION_ACCESS_KEY } from './journal.ts';
import { TMP_DIR } from './paths.ts';
import { runAction, type ActionResult } from './run-action.ts';

/** One run of the action, and the AWS calls it made (and only those: not the instance's). */
export interface RecordedRun {
  result: ActionResult;
  /** Every call the front saw during the run (the action's and the instance role's). */
  calls: RecordedCall[];
  /** The calls the action itself signed. */
  actionCalls: RecordedCall[];
}

/**
 * Runs the action on a freshly reset call record (the scenario set again to `tljh`), and
 * returns the calls of that run before the test's own SDK calls add to them.
 */
export async function runRecorded(
  inputs: Record<string, string>,
  tljh: 'real' | 'light',
): Promise<RecordedRun> {
  await resetEmulator();
  await setScenario({ tljh });
  const result = await runAction(inputs);
  const calls = await getCalls();
  return { result, calls, actionCalls: calls.filter((c) => c.accessKey === ACTION_ACCESS_KEY) };
}

export function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

/** The run's log, stdout and stderr. */
export function logOf(result: ActionResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

export function sendCommands(calls: RecordedCall[]): RecordedCall[] {
  return calls.filter((c) => c.operation === 'SendCommand');
}

/** Whether a SendCommand runs TLJH's installer (as the emulator tells an install). */
export function isInstall(call: RecordedCall): boolean {
  return JSON.stringify(call.params).includes('bootstrap.py');
}

/** Whether a SendCommand is the settings command (hub-settings.ts: its Comment). */
export function isSettingsCommand(call: RecordedCall): boolean {
  return JSON.stringify(call.params).includes('apply TLJH settings') && !isInstall(call);
}

/** The EC2 calls that changed something, in order (every service's mutating call). */
export function mutating(calls: RecordedCall[], operations: ReadonlySet<string>): string[] {
  return calls.filter((c) => operations.has(c.operation)).map((c) => c.operation);
}

/**
 * Every place a secret must never be: log lines (but the runner's own `::add-mask::` command,
 * which the runner consumes), the job summary, and every AWS request but the PutParameter that
 * carries it encrypted.
 */
export function leaks(secret: string, run: RecordedRun): string[] {
  const found: string[] = [];
  for (const line of logOf(run.result).split('\n')) {
    if (line.includes(secret) && !line.startsWith('::add-mask::')) found.push(`log: ${line}`);
  }
  if (run.result.summary.includes(secret)) found.push('job summary');
  for (const call of run.calls) {
    const params =
      call.operation === 'PutParameter' ? { ...call.params, Value: '(encrypted)' } : call.params;
    if (JSON.stringify(params).includes(secret)) found.push(`${call.service} ${call.operation}`);
  }
  return found;
}

/** One row of the job summary's "Spec" table. */
export interface SpecRow {
  change: string;
  detail: string;
}

/** The job summary's "Spec: what changed" (or "what would change") table, by group. */
export function specTable(summary: string): Record<string, SpecRow> {
  const at = summary.search(/<h3>Spec: what (would )?change/);
  if (at < 0) return {};
  const table = /<table>([\s\S]*?)<\/table>/.exec(summary.slice(at))?.[1] ?? '';
  const rows: Record<string, SpecRow> = {};
  for (const [, row] of table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)) {
    const cells = [...row!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
    if (cells.length === 3) rows[cells[0]!] = { change: cells[1]!, detail: cells[2]! };
  }
  return rows;
}

/** The parts of TLJH's config.yaml the tests read (tljh/config_schema.py, and auth). */
export interface TljhConfig {
  limits?: { memory?: string; cpu?: number };
  auth?: { type?: string } & Record<string, unknown>;
  user_environment?: { default_app?: string };
  users?: { admin?: string[] };
  https?: { enabled?: boolean; letsencrypt?: { email?: string; domains?: string[] } };
  [key: string]: unknown;
}

/** TLJH's config.yaml on a real instance, read by the hub's own Python and YAML library. */
export function hubConfig(instanceId: string): TljhConfig {
  const out = runOnInstance(instanceId, [
    '/opt/tljh/hub/bin/python3',
    '-c',
    'import json; from tljh.config import CONFIG_FILE; from ruamel.yaml import YAML; ' +
      'print(json.dumps(YAML(typ="safe").load(open(CONFIG_FILE)) or {}))',
  ]);
  return JSON.parse(out) as TljhConfig;
}

/**
 * The tljh-config calls a light instance's stub recorded (e2e/emulator/light/tljh-config), one
 * per call, each as its argv (`['set', 'limits.memory', '2G']`, `['reload', 'hub']`).
 */
export function tljhConfigCalls(instanceId: string): string[][] {
  const file = join(TMP_DIR, 'instances', instanceId, 'tljh-config.calls');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}

async function withEc2<T>(fn: (ec2: ReturnType<typeof emulatorEc2>) => Promise<T>): Promise<T> {
  const ec2 = emulatorEc2();
  try {
    return await fn(ec2);
  } finally {
    ec2.destroy();
  }
}

/** The instance as DescribeInstances shows it. */
export function describeInstance(instanceId: string): Promise<Instance> {
  return withEc2(async (ec2) => {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];
    if (!instance) throw new Error(`${instanceId} not found`);
    return instance;
  });
}

/** The instance's root volume as DescribeVolumes shows it. */
export async function rootVolume(instanceId: string): Promise<Volume> {
  const instance = await describeInstance(instanceId);
  const volumeId = instance.BlockDeviceMappings?.find(
    (m) => m.DeviceName === instance.RootDeviceName,
  )?.Ebs?.VolumeId;
  if (!volumeId) throw new Error(`${instanceId} has no root volume`);
  return withEc2(async (ec2) => {
    const out = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    return out.Volumes![0]!;
  });
}

/** Tags as a record. */
export function tagsOf(resource: {
  Tags?: { Key?: string; Value?: string }[];
}): Record<string, string> {
  return Object.fromEntries((resource.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** The user's tags (no tljh: ones) of a resource. */
export function userTags(resource: {
  Tags?: { Key?: string; Value?: string }[];
}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tagsOf(resource)).filter(([k]) => !k.startsWith('tljh:') && k !== 'Name'),
  );
}

/** Tags the resources as a person would in the console (CreateTags). */
export function tagByHand(resources: string[], tags: Record<string, string>): Promise<void> {
  return withEc2(async (ec2) => {
    await ec2.send(
      new CreateTagsCommand({
        Resources: resources,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  });
}

/**
 * The inbound rules of the hub's own group `tljh-<hub>`, by port: every CIDR block (IPv4 and
 * IPv6), sorted; and any rule on another port or protocol, as `proto:from-to`.
 */
export function ownGroupRules(
  hubName: string,
): Promise<{ byPort: Record<number, string[]>; others: string[] }> {
  return withEc2(async (ec2) => {
    const out = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: 'group-name', Values: [`tljh-${hubName}`] }],
      }),
    );
    const group = out.SecurityGroups?.[0];
    if (!group) throw new Error(`no security group tljh-${hubName}`);
    const byPort: Record<number, string[]> = {};
    const others: string[] = [];
    for (const p of group.IpPermissions ?? []) {
      const blocks = [
        ...(p.IpRanges ?? []).map((r) => r.CidrIp ?? ''),
        ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6 ?? ''),
      ];
      if (p.IpProtocol === 'tcp' && p.FromPort === p.ToPort && [80, 443].includes(p.FromPort!)) {
        byPort[p.FromPort!] = [...(byPort[p.FromPort!] ?? []), ...blocks].sort();
      } else if (blocks.length) {
        others.push(`${p.IpProtocol}:${p.FromPort}-${p.ToPort}`);
      }
    }
    return { byPort, others };
  });
}
