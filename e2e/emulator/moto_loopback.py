"""Starts moto's server with every public IP it hands out on loopback (127.x.y.z).

moto gives instances public IPs in 54.214.0.0/16: real, routable addresses. The end-to-end
suite probes the hub at the instance's public IP, so those must be addresses this machine
answers itself. Elastic IPs (moto's random_ip) are patched too, since moto may draw 127.0.0.1
or a .0/.255 host there.

It also makes Elastic IPs follow EC2 where moto 5.2.1 does not (the instance's public IP is
one field of its network interface in moto, which stop, start and association overwrite):
 - an Elastic IP stays associated, and is the instance's public IP, while a VPC instance is
   stopped and after it starts again (EC2 User Guide, "Elastic IP addresses": "an Elastic IP
   address remains associated with the instance when you stop it"); moto dropped it at the
   stop and drew a new public IP at the start, while DescribeAddresses still showed it
   associated;
 - terminating an instance disassociates its Elastic IP, which stays allocated (moto kept
   the association to the terminated instance);
 - associating an address with a network interface that had another Elastic IP disassociates
   that one, and an address moved to another interface leaves its old interface with a new
   public IP (running) or none, as DisassociateAddress does (moto left both interfaces
   showing the same address).
ReleaseAddress of an associated address (InvalidIPAddress.InUse) is refused by the front
(e2e/emulator/addresses.ts).

Usage: python3 moto_loopback.py [--host 127.0.0.1] [--port 5000]
"""

import random
import sys
import threading

import moto.ec2.models.elastic_ip_addresses as eip_models
import moto.ec2.models.elastic_network_interfaces as eni_models
import moto.ec2.models.instances as instance_models
import moto.ec2.utils as ec2_utils

_issued: set[str] = set()
_lock = threading.Lock()


def loopback_public_ip() -> str:
    """A fresh address in 127.1.0.1 .. 127.254.255.254, never one already handed out."""
    with _lock:
        while True:
            ip = (
                f"127.{random.randint(1, 254)}.{random.randint(0, 255)}."
                f"{random.randint(1, 254)}"
            )
            if ip not in _issued:
                _issued.add(ip)
                return ip


# random_public_ip / random_ip are imported by name, so patch every module that holds them.
ec2_utils.random_public_ip = loopback_public_ip
eni_models.random_public_ip = loopback_public_ip
ec2_utils.random_ip = loopback_public_ip
eip_models.random_ip = loopback_public_ip



def _address_of(eni):  # type: ignore[no-untyped-def]
    """The Elastic IP associated with this network interface, if any."""
    return next((a for a in eni.ec2_backend.addresses if a.eni is eni), None)


def _drop_association(eip):  # type: ignore[no-untyped-def]
    """Disassociates an address the way moto's DisassociateAddress does."""
    eni = eip.eni
    if eni is not None:
        eni.public_ip = None
        if eni.instance is not None and eni.instance._state.name == "running":
            eni.check_auto_public_ip()
    eip.eni = None
    eip.instance = None
    eip.association_id = None


_eni_stop = eni_models.NetworkInterface.stop
_eni_start = eni_models.NetworkInterface.start


def _stop_keeping_address(self):  # type: ignore[no-untyped-def]
    if _address_of(self) is None:
        _eni_stop(self)


def _start_keeping_address(self):  # type: ignore[no-untyped-def]
    eip = _address_of(self)
    if eip is None:
        _eni_start(self)
    else:
        self.public_ip = eip.public_ip


eni_models.NetworkInterface.stop = _stop_keeping_address
eni_models.NetworkInterface.start = _start_keeping_address

_terminate = instance_models.Instance.terminate


def _terminate_releasing_association(self):  # type: ignore[no-untyped-def]
    for eip in list(self.ec2_backend.addresses):
        if eip.instance is self or (eip.eni is not None and eip.eni in self.nics.values()):
            _drop_association(eip)
    return _terminate(self)


instance_models.Instance.terminate = _terminate_releasing_association

_associate = eip_models.ElasticAddressBackend.associate_address


def _associate_moving_addresses(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    before = {id(a): a.eni for a in self.addresses}
    eip = _associate(self, *args, **kwargs)
    old = before.get(id(eip))
    if old is not None and old is not eip.eni:
        # The address left its old interface: that one gets what a disassociation gives it.
        old.public_ip = None
        if old.instance is not None and old.instance._state.name == "running":
            old.check_auto_public_ip()
    for other in self.addresses:
        if other is not eip and eip.eni is not None and other.eni is eip.eni:
            other.eni = None
            other.instance = None
            other.association_id = None
    return eip


eip_models.ElasticAddressBackend.associate_address = _associate_moving_addresses

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
