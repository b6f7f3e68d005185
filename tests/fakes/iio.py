"""A sysfs tree shaped like a Raspberry Pi's with the kernel's dht11 driver bound.

Modelled on drivers/iio/humidity/dht11.c (``iio->name = pdev->name``: the device-tree node
name, ``dht11@4`` on current Pi kernels, ``dht11@0`` whatever the pin on older ones; values in
milli-units) and Raspberry Pi's dht11 overlay (``compatible = "dht11"``,
``gpios = <&gpio PIN 0>``).  Laid out as sysfs does it::

    sys/bus/iio/devices/iio:deviceN -> ../../../devices/platform/NODE/iio:deviceN
    sys/devices/platform/NODE/driver -> ../../../bus/platform/drivers/dht11
    sys/devices/platform/NODE/iio:deviceN/of_node -> ../../../../firmware/devicetree/base/NODE
    sys/firmware/devicetree/base/NODE/{name,compatible,gpios}

``gpios`` holds big-endian u32 cells (phandle, pin, flags), as /proc/device-tree shows them.
tests/test_sensor_kernel.py uses it; scripts/test-arm builds the same tree inside its roots.
"""

from __future__ import annotations

import os
from pathlib import Path

GPIO_PHANDLE = 0x10  # what the Pi's gpio controller's phandle often is; any value works


def dht11_tree(
    sys_root: Path,
    *,
    node: str = "dht11@4",
    pin: int | None = 4,
    device: str = "iio:device0",
    temp: str | None = "21300",
    hum: str | None = "45600",
    compatible: bytes = b"dht11\0",
    bound: bool = True,
) -> Path:
    """Add one DHT device under ``sys_root`` (a fake /sys); return ``[sensor] iio_root``.

    ``pin=None``: a node without ``gpios`` (the pin is then only in the node name, if at all).
    ``bound=False``: no ``driver`` link.  Values None: the device has no value file yet.
    """
    sys_root = Path(sys_root)
    dt_node = sys_root / "firmware/devicetree/base" / node
    dt_node.mkdir(parents=True, exist_ok=True)
    (dt_node / "name").write_bytes(node.split("@")[0].encode() + b"\0")
    (dt_node / "compatible").write_bytes(compatible)
    if pin is not None:
        cells = (GPIO_PHANDLE, pin, 0)
        (dt_node / "gpios").write_bytes(b"".join(c.to_bytes(4, "big") for c in cells))
    platform = sys_root / "devices/platform" / node
    iio_dir = platform / device
    iio_dir.mkdir(parents=True, exist_ok=True)
    drivers = sys_root / "bus/platform/drivers/dht11"
    drivers.mkdir(parents=True, exist_ok=True)
    if bound and not (platform / "driver").is_symlink():
        (platform / "driver").symlink_to(os.path.relpath(drivers, platform))
    if not (iio_dir / "of_node").is_symlink():
        (iio_dir / "of_node").symlink_to(os.path.relpath(dt_node, iio_dir))
    (iio_dir / "name").write_text(node + "\n")
    if temp is not None:
        (iio_dir / "in_temp_input").write_text(temp + "\n")
    if hum is not None:
        (iio_dir / "in_humidityrelative_input").write_text(hum + "\n")
    iio_root = sys_root / "bus/iio/devices"
    iio_root.mkdir(parents=True, exist_ok=True)
    link = iio_root / device
    if not link.is_symlink():
        link.symlink_to(os.path.relpath(iio_dir, iio_root))
    return iio_root


def main() -> None:
    """`python -m tests.fakes.iio SYS_ROOT`: one DHT on GPIO4, for scripts/test-arm."""
    import sys

    print(dht11_tree(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
