"""The long-running commands (monitor, recorder, web, demo): signals, exit codes, wiring.

The engines (``monitor.daemon``, ``monitor.mqtt.recorder``, ``web``) know nothing
of argparse or process signals; these handlers own both.
"""

from __future__ import annotations

import logging
import signal
import socket
import tempfile
import threading
from pathlib import Path

from monitor.clock import SystemClock
from monitor.config import Config, parse
from monitor.errors import EXIT_USAGE, UserError
from monitor.store import Store

log = logging.getLogger(__name__)


def run_monitor(args, config: Config) -> int:
    """`bedside monitor`: run until SIGTERM/SIGINT, then shut down cleanly (exit 0)."""
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    # Installed first; a driver that replaces them on import (Blinka's PulseIn hooks
    # SIGTERM) is undone by monitor.sensing.drivers.keep_signal_handlers, whenever the
    # sensor is (re)opened, so `systemctl stop` always ends in a clean exit 0.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from monitor.daemon import lean

    lean.defer()  # before paho is imported: ssl, hashlib & co. load only when used
    from monitor.daemon.loop import Daemon
    from monitor.sensing.drivers import SensorError

    user_errors: tuple[type[Exception], ...] = (SensorError,)
    if config.mqtt.enabled:
        from monitor.mqtt.relay import RelayError

        user_errors += (RelayError,)
    try:
        Daemon(config).run(stop)
    except user_errors as exc:
        raise UserError(str(exc)) from None
    return 0


def run_recorder(args, config: Config) -> int:
    """`bedside recorder`: run until SIGTERM/SIGINT, then commit, acknowledge and exit."""
    from monitor.mqtt.recorder import Recorder, _notify
    from monitor.mqtt.relay import RelayError

    if not config.mqtt.enabled:
        raise UserError("[mqtt] enabled is false: the recorder needs a broker to listen to")
    try:
        recorder = Recorder(config)
    except RelayError as exc:
        raise UserError(str(exc)) from None
    done = threading.Event()

    def _stop(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    recorder.start()
    log.info(
        "recording %s/+/... from %s:%d into %s (skipping own node %s)",
        recorder.prefix,
        config.mqtt.host,
        config.mqtt.port,
        config.storage.database,
        recorder.own_node,
    )
    while not done.wait(1.0):
        if recorder.failed.is_set():
            damaged = recorder.damaged
            recorder.stop()
            raise UserError(damaged or "the recorder's writer failed (see the log); restart it")
    _notify("STOPPING=1")
    recorder.stop()
    s = recorder.stats
    log.info(
        "stopped: %d messages stored, %d skipped, %d malformed",
        s.stored,
        s.skipped,
        s.malformed,
    )
    return 0


def run_web(args, config: Config) -> int:
    from web.app import create_app
    from web.server import check_exposure, serve

    host = getattr(args, "host", None) or config.web.host
    port = getattr(args, "port", None)
    port = config.web.port if port is None else port
    check_exposure(config, host)
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror:
        message = f"[web] host {host!r} is not an address of this machine"
        raise UserError(message, EXIT_USAGE) from None
    # The app decides which Host names it answers to from the address it is served on.
    app = create_app(config.replace(web={"host": host}))

    def on_term(signum, frame):
        raise KeyboardInterrupt  # waitress closes its sockets and returns

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        serve(
            app,
            host,
            port,
            config.web.threads,
            ready=lambda url: print(f"bedside dashboard on {url}", flush=True),
        )
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.extensions["bedside"]["job"].stop()
        app.extensions["bedside"]["data"].close()
    return 0


def run_demo(args, config: Config) -> int:
    from monitor.daemon.alerts import ColdRules
    from web.app import create_app
    from web.demo import _check_port, demo_config, fill_history, start_daemon, write_config
    from web.server import serve

    if args.weeks < 0 or args.weeks > 520:
        raise UserError("--weeks must be from 0 to 520")
    _check_port(args.port)
    tmp = None
    if args.database:
        database = Path(args.database).expanduser()
        if database.exists():
            raise UserError(f"{database} exists; the demo wants a fresh database path")
        workdir = database.parent
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bedside-demo-")
        workdir = Path(tmp.name)
        database = workdir / "demo.db"
    config = demo_config(config, database, args.port)
    config = parse(
        write_config(config, workdir / "demo-config.toml").read_text(),
        str(workdir / "demo-config.toml"),
    )
    node = config.node.id
    print(
        f"bedside demo: filling {args.weeks} weeks of simulated history into {database} ...",
        flush=True,
    )
    store = Store.open(database)
    try:
        counts = fill_history(
            store,
            node,
            config.node.timezone,
            config.sensor.seed,
            args.weeks,
            SystemClock().now_ms(),
            alert_rules=ColdRules.from_config(config),
        )
    finally:
        store.close()
    print(f"  {counts['readings']} readings, {counts['cramps']} cramps", flush=True)

    app = create_app(config)
    job = app.extensions["bedside"]["job"]
    job.start(node)  # the first evidence report, computed in a child process
    daemon = start_daemon(config)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        serve(
            app,
            "127.0.0.1",
            args.port,
            config.web.threads,
            ready=lambda url: print(f"bedside demo: open {url}  (Ctrl-C stops)", flush=True),
        )
    except KeyboardInterrupt:
        pass  # waitress usually handles Ctrl-C itself and returns
    finally:
        print("\nbedside demo: stopping", flush=True)
        signal.signal(signal.SIGTERM, previous)
        daemon.stop()
        job.stop()
        app.extensions["bedside"]["data"].close()
        if tmp is not None:
            tmp.cleanup()
    return 0
