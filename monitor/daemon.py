"""The sensor daemon (`bedside monitor`). Placeholder until the daemon lands."""

from monitor.cli import UserError


def run(args, config) -> int:
    raise UserError("the daemon is not built yet")
