// Elastic IPs at the front: the rule moto does not follow, and the address a call names, for
// the journal (the audit evaluates a call on an address with that address's tags).
//
// ReleaseAddress of an associated address: EC2 refuses it with InvalidIPAddress.InUse
// ("Address <ip> is in use."; EC2 API reference, ReleaseAddress: "you must first disassociate
// the address"). moto 5.2.1 releases it, and the instance loses its public IP.
// EC2's other Elastic IP behaviour that moto lacks (an address kept across a stop and start,
// dropped at a terminate) is patched into moto itself, where the instance's public IP lives
// (moto_loopback.py).
import type { AddressView, Moto } from './moto.ts';
import type { Ec2Refusal } from './state-rules.ts';

/** The EC2 calls on one existing Elastic IP. */
export const ADDRESS_CALLS: ReadonlySet<string> = new Set([
  'AssociateAddress',
  'DisassociateAddress',
  'ReleaseAddress',
]);

/**
 * The Elastic IP an EC2 call names (by AllocationId, AssociationId or PublicIp), as moto has
 * it now; undefined for other calls, or when moto does not know it (moto then answers the call).
 */
export async function namedAddress(
  moto: Moto,
  region: string,
  form: Record<string, string>,
): Promise<AddressView | undefined> {
  if (!ADDRESS_CALLS.has(form.Action ?? '')) return undefined;
  const { AllocationId, AssociationId, PublicIp } = form;
  if (!AllocationId && !AssociationId && !PublicIp) return undefined;
  let all: AddressView[];
  try {
    all = await moto.listAddresses(region);
  } catch {
    return undefined;
  }
  return all.find((a) =>
    AllocationId
      ? a.allocationId === AllocationId
      : AssociationId
        ? a.associationId === AssociationId
        : a.publicIp === PublicIp,
  );
}

/**
 * The primary network interface of the instance an AssociateAddress names by InstanceId (EC2
 * authorizes the call on it: the IAM audit's mapping); undefined for other calls.
 */
export async function targetInterface(
  moto: Moto,
  region: string,
  form: Record<string, string>,
): Promise<string | undefined> {
  if (form.Action !== 'AssociateAddress' || !form.InstanceId || form.NetworkInterfaceId) {
    return undefined;
  }
  try {
    return (await moto.listInstances(region, [form.InstanceId]))[0]?.networkInterfaceId;
  } catch {
    return undefined;
  }
}

/** EC2's refusal of a call on this address, or undefined when EC2 would go on with it. */
export function addressRefusal(
  operation: string,
  address: AddressView | undefined,
): Ec2Refusal | undefined {
  if (operation === 'ReleaseAddress' && address?.associationId) {
    return { code: 'InvalidIPAddress.InUse', message: `Address ${address.publicIp} is in use.` };
  }
  return undefined;
}
