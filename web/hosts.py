"""Host names: which hosts are loopback (serving) and which Host headers name them (requests).

No Flask here: `web.server` (serving) and `web.security` (requests) both use it.
"""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """'[::1]:8080' -> '::1', 'localhost:8080' -> 'localhost'."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def default_allowed_hosts() -> set[str]:
    """The names this machine answers to: its host name, <host>.local, its fully
    qualified name, the addresses its name resolves to, and localhost."""
    names = set(LOOPBACK_NAMES)
    host = socket.gethostname().lower()
    if host:
        short = host.split(".")[0]
        names |= {host, short, f"{short}.local"}
        try:
            names.add(socket.getfqdn(host).lower())
        except OSError:
            pass
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(host, None)}
        except OSError:
            pass
    return {n.rstrip(".") for n in names if n}


def allowed_host(name: str, names: set[str], explicit: list[str] | tuple = ()) -> bool:
    """Whether a request's Host names this dashboard.

    With an explicit ``[web] allowed_hosts`` only those (``"*"``: any); by default the
    machine's own names and any address literal: a DNS-rebinding page reaches the
    dashboard under a name of its own, never under an address.
    """
    name = name.rstrip(".")
    if explicit:
        return "*" in names or name in names
    return name in names or is_address(name)
