// The SSM half of the shared fake AWS (fake-aws.ts): parameters, agents and Run Command,
// answering like Systems Manager does. Not a test file.
//
// Modelled SSM behaviour:
// - GetParameter: ParameterNotFound for an unknown name; Canonical's public AMI parameters are
//   there from the start (CANONICAL_AMIS), each naming an image the fake EC2 knows.
// - PutParameter: ParameterAlreadyExists without Overwrite; Tags together with Overwrite is a
//   ValidationException (why the action tags with AddTagsToResource). DeleteParameter:
//   ParameterNotFound; DeleteParameters: at most 10 names, unknown ones come back as
//   InvalidParameters. GetParametersByPath pages by 10 (NextToken), Recursive or one level.
//   AddTagsToResource: InvalidResourceId for an unknown parameter.
// - DescribeInstanceInformation lists the agents that are Online: by default, those of running
//   instances (agentOnline decides).
// - SendCommand: InvalidInstanceId for an instance whose agent is not Online; command ids are
//   cmd-1, cmd-2, ... GetCommandInvocation: InvocationDoesNotExist for a command (or instance)
//   SSM does not know; a command reads InProgress for `commandPolls` looks, then its result
//   (commandResult decides; scripted per command with addCommand / command()).
import type { Parameter, Tag } from '@aws-sdk/client-ssm';
import { ubuntuAmiParameter } from '../../src/aws/ssm.ts';
import { awsError } from './fakes.ts';

/** The AMI Canonical's parameter names, per Ubuntu version and architecture. */
export const CANONICAL_AMIS = {
  '24.04/amd64': 'ami-0123456789abcdef0',
  '24.04/arm64': 'ami-0123456789abcdef1',
  '22.04/amd64': 'ami-0123456789abcdef2',
  '22.04/arm64': 'ami-0123456789abcdef3',
} as const;

export interface Invocation {
  Status: string;
  ResponseCode?: number;
  StandardOutputContent?: string;
  StandardErrorContent?: string;
}

export interface SentCommand {
  commandId: string;
  instanceId: string;
  /** The script (AWS-RunShellScript's first command). */
  script: string;
  /** Looks (GetCommandInvocation) so far. */
  polls: number;
  /** Set once the command ended (or scripted by a test). */
  result?: Invocation;
}

/** What SSM sees of EC2: the instances there are, and their states. */
export interface InstancesView {
  state(id: string): string | undefined;
  ids(): string[];
}

interface StoredParameter extends Parameter {
  Tags: Tag[];
  Description?: string;
}

export class SsmWorld {
  readonly parameters = new Map<string, StoredParameter>();
  readonly commands = new Map<string, SentCommand>();
  /** Whether an instance's agent is Online. */
  agentOnline: (instanceId: string) => boolean;
  /** How a command of this run ends (asked once, at its first look past `commandPolls`). */
  commandResult: (command: SentCommand) => Invocation = () => ({
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: '',
  });
  /** Looks for which a new command still reads InProgress. */
  commandPolls = 0;
  private commandCounter = 0;

  private readonly ec2: InstancesView;

  constructor(ec2: InstancesView) {
    this.ec2 = ec2;
    this.agentOnline = (id) => ec2.state(id) === 'running';
    for (const [key, ami] of Object.entries(CANONICAL_AMIS)) {
      const [version, arch] = key.split('/') as ['24.04' | '22.04', 'amd64' | 'arm64'];
      this.putParameter({ Name: ubuntuAmiParameter(version, arch), Value: ami, Type: 'String' });
    }
  }

  getParameter(name: string | undefined): { Parameter: Parameter } {
    const p = this.parameters.get(name ?? '');
    if (!p) throw awsError('ParameterNotFound', `Parameter ${name} not found.`);
    const { Name, Type, Value, Version } = p;
    return { Parameter: { Name, Type, Value, Version } };
  }

  putParameter(input: {
    Name?: string;
    Value?: string;
    Type?: string;
    Overwrite?: boolean;
    Tags?: Tag[];
    Description?: string;
  }): { Version: number } {
    const name = input.Name ?? '';
    const old = this.parameters.get(name);
    if (input.Tags?.length && input.Overwrite) {
      throw awsError('ValidationException', 'Tags and Overwrite cannot be used together');
    }
    if (old && !input.Overwrite) throw awsError('ParameterAlreadyExists', `${name} exists`);
    const Version = (old?.Version ?? 0) + 1;
    this.parameters.set(name, {
      Name: name,
      Value: input.Value,
      Type: (input.Type ?? 'String') as Parameter['Type'],
      Version,
      Description: input.Description,
      Tags: old?.Tags ?? structuredClone(input.Tags ?? []),
    });
    return { Version };
  }

  deleteParameter(name: string | undefined): Record<string, never> {
    if (!this.parameters.delete(name ?? '')) throw awsError('ParameterNotFound', `${name}`);
    return {};
  }

  deleteParameters(names: string[] = []) {
    if (names.length > 10) throw awsError('ValidationException', 'at most 10 names');
    const deleted = names.filter((n) => this.parameters.delete(n));
    return {
      DeletedParameters: deleted,
      InvalidParameters: names.filter((n) => !deleted.includes(n)),
    };
  }

  getParametersByPath(input: {
    Path?: string;
    Recursive?: boolean;
    MaxResults?: number;
    NextToken?: string;
  }) {
    const path = (input.Path ?? '/').endsWith('/') ? input.Path! : `${input.Path}/`;
    const all = [...this.parameters.values()].filter(
      (p) =>
        p.Name!.startsWith(path) && (input.Recursive || !p.Name!.slice(path.length).includes('/')),
    );
    const start = Number(input.NextToken ?? 0);
    const end = start + Math.min(input.MaxResults ?? 10, 10);
    return {
      Parameters: all.slice(start, end).map(({ Name, Type, Version }) => ({ Name, Type, Version })),
      ...(end < all.length ? { NextToken: String(end) } : {}),
    };
  }

  addTagsToResource(resourceId: string | undefined, tags: Tag[] = []): Record<string, never> {
    const p = this.parameters.get(resourceId ?? '');
    if (!p) throw awsError('InvalidResourceId', `${resourceId}`);
    const keys = new Set(tags.map((t) => t.Key));
    p.Tags = [...p.Tags.filter((t) => !keys.has(t.Key)), ...structuredClone(tags)];
    return {};
  }

  describeInstanceInformation(filters: { Key?: string; Values?: string[] }[] = []) {
    const ids = filters.find((f) => f.Key === 'InstanceIds')?.Values;
    const candidates = ids ?? this.ec2.ids();
    return {
      InstanceInformationList: candidates
        .filter((id) => this.agentOnline(id))
        .map((InstanceId) => ({ InstanceId, PingStatus: 'Online' as const })),
    };
  }

  /** A command sent by someone else (another run), with its status as a test scripts it. */
  addCommand(commandId: string, instanceId: string, result: Invocation): SentCommand {
    const command: SentCommand = { commandId, instanceId, script: '', polls: 0, result };
    this.commands.set(commandId, command);
    return command;
  }

  /** A command by id (to script its result); throws if unknown. */
  command(commandId: string): SentCommand {
    const c = this.commands.get(commandId);
    if (!c) throw new Error(`fake SSM: no command ${commandId}`);
    return c;
  }

  sendCommand(instanceIds: string[] = [], script: string) {
    const offline = instanceIds.filter((id) => !this.agentOnline(id));
    if (!instanceIds.length || offline.length) {
      throw awsError('InvalidInstanceId', `Instances [${offline.join(', ')}] not in a valid state`);
    }
    // One instance per command: the action's only use.
    const commandId = `cmd-${++this.commandCounter}`;
    this.commands.set(commandId, { commandId, instanceId: instanceIds[0]!, script, polls: 0 });
    return { Command: { CommandId: commandId, InstanceIds: instanceIds, Status: 'Pending' } };
  }

  getCommandInvocation(commandId: string | undefined, instanceId: string | undefined) {
    const c = this.commands.get(commandId ?? '');
    if (!c || (instanceId && c.instanceId !== instanceId)) {
      throw awsError('InvocationDoesNotExist', 'An error occurred (InvocationDoesNotExist)');
    }
    c.polls++;
    if (!c.result && c.polls > this.commandPolls) c.result = this.commandResult(c);
    const result = c.result ?? { Status: 'InProgress' };
    return { CommandId: c.commandId, InstanceId: c.instanceId, ...structuredClone(result) };
  }
}
