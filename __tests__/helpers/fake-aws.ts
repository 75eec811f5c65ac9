// One fake AWS for the unit tests: EC2 and SSM behind aws-sdk-client-mock (the SDK boundary, so
// refactors of src/ do not break the tests), answering from a small world that behaves like the
// real services for the calls the action makes. Not a test file.
//
// What each part models (details at the top of each file):
// - fake-ec2.ts: DescribeInstances by filters (never fails for an unknown id) and by InstanceIds
//   (InvalidInstanceID.NotFound for one unknown id), paginated; RunInstances' ClientToken
//   idempotency (same token -> same instance); pending -> running, stopping -> stopped,
//   shutting-down -> terminated, completed per DescribeInstances call, per clock time or by
//   step(); ModifyInstanceAttribute (a type, only on a stopped instance); root EBS volumes
//   (DescribeVolumes, ModifyVolume: never smaller, modifying -> optimizing -> completed,
//   DescribeVolumesModifications); CreateTags and DeleteTags on instances, volumes and groups;
//   security groups (InvalidGroup.Duplicate, InvalidPermission.Duplicate, Revoke's
//   InvalidPermission.NotFound outside the default VPC, DependencyViolation while an instance
//   that is not terminated uses the group); DescribeInstanceTypes/Images/Vpcs/Subnets with their
//   NotFound errors; Spot requests (fake-ec2-spot.ts): interruptions, a persistent request
//   relaunching a terminated instance unless cancelled, CancelSpotInstanceRequests.
// - fake-ssm.ts: Canonical's AMI parameters; Put/Delete/DeleteParameters/GetParametersByPath/
//   AddTagsToResource on a parameter store; DescribeInstanceInformation (agents Online);
//   SendCommand (InvalidInstanceId while the agent is not Online) and GetCommandInvocation
//   (InvocationDoesNotExist for an unknown command; scriptable results).
// - here: every call is recorded (name + input, in order, both clients) so tests can assert on
//   call sequences and on "no mutating call"; on()/fail() layer a test's own behaviour over the
//   model for one command (`next()` runs the model), and beforeCall/ec2.meanwhile let a test act
//   as another run (or person) between calls.
//
// Use one FakeAws per test (beforeEach): its constructor resets the mocks of EC2Client and
// SSMClient (created once per test file) and wires them to the new world.
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CancelSpotInstanceRequestsCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DescribeVpcsCommand,
  DisassociateAddressCommand,
  EC2Client,
  GetConsoleOutputCommand,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  ReleaseAddressCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub, type AwsCommand } from 'aws-sdk-client-mock';
import type { Clock } from '../../src/clock.ts';
import { Ec2World } from './fake-ec2.ts';
import { testClients } from './mocked-clients.ts';
import { AddressWorld, DnsWorld } from './fake-endpoints.ts';
import { CANONICAL_AMIS, SsmWorld } from './fake-ssm.ts';

export { CANONICAL_AMIS } from './fake-ssm.ts';
export type { Settle } from './fake-ec2.ts';
export type { Invocation, SentCommand } from './fake-ssm.ts';

/** Every call that changes something in AWS (the rest only read). */
export const MUTATING = new Set([
  'PutParameterCommand',
  'AddTagsToResourceCommand',
  'DeleteParameterCommand',
  'DeleteParametersCommand',
  'RunInstancesCommand',
  'StartInstancesCommand',
  'StopInstancesCommand',
  'TerminateInstancesCommand',
  'CreateTagsCommand',
  'DeleteTagsCommand',
  'CreateSecurityGroupCommand',
  'AuthorizeSecurityGroupIngressCommand',
  'RevokeSecurityGroupIngressCommand',
  'DeleteSecurityGroupCommand',
  'ModifyInstanceAttributeCommand',
  'ModifyVolumeCommand',
  'CancelSpotInstanceRequestsCommand',
  'SendCommandCommand',
  'AllocateAddressCommand',
  'AssociateAddressCommand',
  'DisassociateAddressCommand',
  'ReleaseAddressCommand',
  'ChangeResourceRecordSetsCommand',
]);

export interface AwsCall {
  service: 'ec2' | 'ssm' | 'route53';
  /** The command's class name, e.g. 'DescribeInstancesCommand'. */
  name: string;
  /** A copy of the input as sent. */
  input: unknown;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- command outputs are checked by the SDK's types at the call sites, not here */
type CommandClass<I extends object> = new (input: I) => AwsCommand<I, any>;
type Layer = (input: any, next: () => Promise<unknown>) => unknown;
type Stub = AwsClientStub<EC2Client> | AwsClientStub<SSMClient> | AwsClientStub<Route53Client>;

let stubs:
  | {
      ec2: AwsClientStub<EC2Client>;
      ssm: AwsClientStub<SSMClient>;
      route53: AwsClientStub<Route53Client>;
    }
  | undefined;

export class FakeAws {
  readonly ec2: Ec2World;
  readonly ssm: SsmWorld;
  readonly addresses: AddressWorld;
  readonly dns = new DnsWorld();
  /** Every call of both clients, in order. */
  readonly calls: AwsCall[] = [];
  /** Clients whose send() reaches this world (any EC2Client/SSMClient does, while it lives). */
  readonly clients: { ec2: EC2Client; ssm: SSMClient; route53: Route53Client };
  /** The mocks themselves, for what this class does not cover. */
  readonly ec2Mock: AwsClientStub<EC2Client>;
  readonly ssmMock: AwsClientStub<SSMClient>;
  readonly route53Mock: AwsClientStub<Route53Client>;
  /** Runs before every call's behaviour (after it is recorded). */
  beforeCall?: (call: AwsCall) => void;
  /** Console output per instance (GetConsoleOutput). */
  readonly consoleOutput = new Map<string, string>();
  private readonly layers = new Map<string, Layer[]>();

  constructor(opts: { clock?: Clock; region?: string } = {}) {
    stubs ??= {
      ec2: mockClient(EC2Client),
      ssm: mockClient(SSMClient),
      route53: mockClient(Route53Client),
    };
    this.ec2Mock = stubs.ec2.reset();
    this.ssmMock = stubs.ssm.reset();
    this.route53Mock = stubs.route53.reset();
    this.clients = testClients(opts.region);
    const ec2 = (this.ec2 = new Ec2World(opts.clock));
    const ssm = (this.ssm = new SsmWorld({
      state: (id) => ec2.state(id),
      ids: () => [...ec2.instances.keys()],
    }));
    for (const [key, ami] of Object.entries(CANONICAL_AMIS)) {
      const arch = key.endsWith('arm64') ? 'arm64' : 'x86_64';
      ec2.images.set(ami, { Architecture: arch, RootDeviceName: '/dev/sda1' });
    }

    const e = this.ec2Mock;
    this.route(e, DescribeInstancesCommand, (i) => ec2.describeInstances(i));
    this.route(e, RunInstancesCommand, (i) => ec2.runInstances(i));
    this.route(e, StartInstancesCommand, (i) => ec2.startInstances(i.InstanceIds));
    this.route(e, StopInstancesCommand, (i) => ec2.stopInstances(i.InstanceIds));
    this.route(e, TerminateInstancesCommand, (i) => ec2.terminateInstances(i.InstanceIds));
    this.route(e, CreateTagsCommand, (i) => ec2.createTags(i.Resources, i.Tags));
    this.route(e, DeleteTagsCommand, (i) => ec2.deleteTags(i.Resources, i.Tags));
    this.route(e, ModifyInstanceAttributeCommand, (i) => ec2.modifyInstanceAttribute(i));
    this.route(e, DescribeVolumesCommand, (i) => ec2.describeVolumes(i));
    this.route(e, CancelSpotInstanceRequestsCommand, (i) =>
      ec2.spot.cancelSpotInstanceRequests(i.SpotInstanceRequestIds),
    );
    this.route(e, DescribeSpotInstanceRequestsCommand, (i) =>
      ec2.spot.describeSpotInstanceRequests(i.SpotInstanceRequestIds),
    );
    this.route(e, ModifyVolumeCommand, (i) => ec2.modifyVolume(i));
    this.route(e, DescribeVolumesModificationsCommand, (i) =>
      ec2.describeVolumesModifications(i.VolumeIds),
    );
    this.route(e, CreateSecurityGroupCommand, (i) => ec2.createSecurityGroup(i));
    this.route(e, DescribeSecurityGroupsCommand, (i) => ec2.describeSecurityGroups(i));
    this.route(e, AuthorizeSecurityGroupIngressCommand, (i) =>
      ec2.authorizeIngress(i.GroupId, i.IpPermissions),
    );
    this.route(e, RevokeSecurityGroupIngressCommand, (i) =>
      ec2.revokeIngress(i.GroupId, i.IpPermissions),
    );
    this.route(e, DeleteSecurityGroupCommand, (i) => ec2.deleteSecurityGroup(i.GroupId));
    this.route(e, DescribeVpcsCommand, (i) => ec2.describeVpcs(i.Filters));
    this.route(e, DescribeSubnetsCommand, (i) => ec2.describeSubnets(i.SubnetIds));
    this.route(e, DescribeInstanceTypesCommand, (i) => ec2.describeInstanceTypes(i.InstanceTypes));
    this.route(e, DescribeImagesCommand, (i) => ec2.describeImages(i.ImageIds));
    this.route(e, GetConsoleOutputCommand, (i) => ({
      InstanceId: i.InstanceId,
      Output: Buffer.from(this.consoleOutput.get(i.InstanceId ?? '') ?? '').toString('base64'),
    }));

    const addresses = (this.addresses = new AddressWorld(ec2));
    this.route(e, AllocateAddressCommand, (i) =>
      addresses.allocate(i.TagSpecifications?.[0]?.Tags ?? []),
    );
    this.route(e, DescribeAddressesCommand, (i) => addresses.describe(i.Filters));
    this.route(e, AssociateAddressCommand, (i) =>
      addresses.associate(i.AllocationId!, i.InstanceId!),
    );
    this.route(e, DisassociateAddressCommand, (i) => addresses.disassociate(i.AssociationId!));
    this.route(e, ReleaseAddressCommand, (i) => addresses.release(i.AllocationId!));
    const r = this.route53Mock;
    const dns = this.dns;
    this.route(r, GetHostedZoneCommand, (i) => dns.getHostedZone(i.Id!));
    this.route(r, ListResourceRecordSetsCommand, (i) =>
      dns.list(i.StartRecordName!, i.StartRecordType),
    );
    this.route(r, ChangeResourceRecordSetsCommand, (i) => dns.change(i.ChangeBatch?.Changes));
    this.route(r, GetChangeCommand, (i) => dns.getChange(i.Id!));

    const s = this.ssmMock;
    this.route(s, GetParameterCommand, (i) => ssm.getParameter(i.Name));
    this.route(s, PutParameterCommand, (i) => ssm.putParameter(i));
    this.route(s, DeleteParameterCommand, (i) => ssm.deleteParameter(i.Name));
    this.route(s, DeleteParametersCommand, (i) => ssm.deleteParameters(i.Names));
    this.route(s, GetParametersByPathCommand, (i) => ssm.getParametersByPath(i));
    this.route(s, AddTagsToResourceCommand, (i) => ssm.addTagsToResource(i.ResourceId, i.Tags));
    this.route(s, DescribeInstanceInformationCommand, (i) =>
      ssm.describeInstanceInformation(i.Filters),
    );
    this.route(s, SendCommandCommand, (i) =>
      ssm.sendCommand(i.InstanceIds, i.Parameters?.commands?.[0] ?? ''),
    );
    this.route(s, GetCommandInvocationCommand, (i) =>
      ssm.getCommandInvocation(i.CommandId, i.InstanceId),
    );
  }

  private route<I extends object>(
    stub: Stub,
    command: CommandClass<I>,
    model: (input: I) => unknown,
  ): void {
    const service = stub === this.ec2Mock ? 'ec2' : stub === this.ssmMock ? 'ssm' : 'route53';
    (stub as AwsClientStub<EC2Client>)
      .on(command as CommandClass<any>)
      .callsFake((input: I) => this.dispatch(service, command.name, input, model));
  }

  private async dispatch<I>(
    service: AwsCall['service'],
    name: string,
    input: I,
    model: (input: I) => unknown,
  ): Promise<unknown> {
    const call: AwsCall = { service, name, input: structuredClone(input) };
    this.calls.push(call);
    this.beforeCall?.(call);
    const layers = this.layers.get(name) ?? [];
    // The newest layer runs first; its next() runs the one before it, and the last the model.
    const run = async (i: number): Promise<unknown> =>
      i < 0 ? model(input) : layers[i]!(input, () => run(i - 1));
    return run(layers.length - 1);
  }

  /**
   * Layers a behaviour over one command: `fn` gets the input and `next` (the model, or the
   * layer before), and returns the answer or throws the error. Calls are still recorded.
   */
  on<I extends object>(
    command: CommandClass<I>,
    fn: (input: I, next: () => Promise<any>) => unknown,
  ): this {
    const name = command.name;
    this.layers.set(name, [...(this.layers.get(name) ?? []), fn as Layer]);
    return this;
  }

  /** The command fails with `error` (the next `times` calls, or every call). */
  fail<I extends object>(command: CommandClass<I>, error: Error, times = Infinity): this {
    let left = times;
    return this.on(command, (_input, next) => {
      if (left-- > 0) throw error;
      return next();
    });
  }

  /** The command's name of every call, in order. */
  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  /** The calls that changed something, in order. */
  mutating(): string[] {
    return this.names().filter((n) => MUTATING.has(n));
  }

  /** The input of every call of one command, in order. */
  inputs<I extends object>(command: CommandClass<I>): I[] {
    return this.calls.filter((c) => c.name === command.name).map((c) => c.input as I);
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */
