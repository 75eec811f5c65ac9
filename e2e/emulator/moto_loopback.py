"""Starts moto's server with every public IP it hands out on loopback (127.x.y.z).

moto gives instances public IPs in 54.214.0.0/16: real, routable addresses. The end-to-end
suite probes the hub at the instance's public IP, so those must be addresses this machine
answers itself. Elastic IPs (moto's random_ip) are patched too, since moto may draw 127.0.0.1
or a .0/.255 host there.

Usage: python3 moto_loopback.py [--host 127.0.0.1] [--port 5000]
"""

import random
import sys
import threading

import moto.ec2.models.elastic_ip_addresses as eip_models
import moto.ec2.models.elastic_network_interfaces as eni_models
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

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
