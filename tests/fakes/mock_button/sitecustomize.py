"""Test hook for `python -m monitor monitor`: press the mock button from outside.

The daemon picks gpiozero's MockFactory (GPIOZERO_PIN_FACTORY=mock); this keeps a
handle on it and, for every line `press` written into the FIFO named by
$BEDSIDE_TEST_PRESS_FIFO, holds the button pin low for 0.2 s (a finger's press,
longer than the 50-ms bounce filter) and releases it.  Nothing else changes.
"""

import os
import threading

_FIFO = os.environ.get("BEDSIDE_TEST_PRESS_FIFO")
_PIN = int(os.environ.get("BEDSIDE_TEST_BUTTON_PIN", "17"))

if _FIFO:
    import monitor.daemon.loop as _loop

    _factories = []
    _ready = threading.Event()
    _real_choose = _loop.choose_pin_factory

    def _choose(config):
        factory = _real_choose(config)
        if factory is not None:
            _factories.append(factory)
            _ready.set()
        return factory

    _loop.choose_pin_factory = _choose

    def _listen():
        hold = threading.Event()  # never set: wait() is the press's duration
        while True:
            with open(_FIFO, encoding="utf-8") as fifo:
                for line in fifo:
                    if line.strip() != "press":
                        continue
                    _ready.wait()
                    pin = _factories[-1].pin(_PIN)
                    pin.drive_low()
                    hold.wait(0.2)
                    pin.drive_high()

    threading.Thread(target=_listen, name="test-press", daemon=True).start()
