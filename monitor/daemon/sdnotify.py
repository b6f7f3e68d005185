"""systemd's notify protocol (READY=1, STOPPING=1) in a dozen lines of the standard library.

The PyPI ``sdnotify`` package exists only as a source archive (the install is wheels only),
and the protocol is one datagram to ``$NOTIFY_SOCKET``.
"""

from __future__ import annotations

import os
import socket


def sd_notify(state: str) -> bool:
    """Tell systemd (Type=notify) something; a no-op without NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
