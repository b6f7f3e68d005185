"""adafruit_dht 4.0.12's shape: pulseio imported at module top (installing Blinka's
SIGTERM handler), DHT22/DHT11 with temperature, humidity and exit().  Reads answer
at once with a fixed room (20.5 °C, 48 %RH)."""

_USE_PULSEIO = False
try:
    from pulseio import PulseIn  # noqa: F401  (the import is the point)

    _USE_PULSEIO = True
except (ImportError, NotImplementedError):
    pass


class DHTBase:
    def __init__(self, pin, use_pulseio=_USE_PULSEIO):
        self.pin = pin
        self._use_pulseio = use_pulseio

    @property
    def temperature(self):
        return 20.5

    @property
    def humidity(self):
        return 48.0

    def exit(self):
        pass


class DHT22(DHTBase):
    pass


class DHT11(DHTBase):
    pass
