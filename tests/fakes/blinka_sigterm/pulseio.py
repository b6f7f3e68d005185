"""pulseio as Blinka 10 serves it on a Raspberry Pi: the module-level part of
adafruit_blinka/microcontroller/bcm283x/pulseio/PulseIn.py, copied in shape.

On import it registers an atexit hook and replaces the process's SIGTERM handler
with one that cleans up and raises SystemExit(1).
"""

import atexit
import signal

queues = []
procs = []


def final():
    """In case the program is cancelled or quit, we need to clean up the PulseIn
    helper process and also the message queue, this is registered at exit to do so"""
    for q in queues:
        q.remove()
    for proc in procs:
        proc.terminate()


atexit.register(final)


def _signal_handler(signum, frame):  # pylint: disable=unused-argument
    """Handle SIGTERM/SIGINT to ensure cleanup runs"""
    final()
    raise SystemExit(1)


try:
    signal.signal(signal.SIGTERM, _signal_handler)
except (OSError, ValueError):
    pass  # Not all environments allow signal handling


class PulseIn:
    """Never used by the fake DHT (it answers without pulses)."""

    def __init__(self, pin, maxlen=2, idle_state=False):
        self.pin = pin
