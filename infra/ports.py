"""Free loopback ports for the processes a bench, a demo or a test starts beside each other.

The OS picks the port (bind to port 0), so two runs side by side never agree on one by chance.
The socket is closed before the port is used: a race with another process is possible but rare,
and every caller starts a service that fails loudly on a taken port.
"""

from __future__ import annotations

import socket
from contextlib import closing


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
