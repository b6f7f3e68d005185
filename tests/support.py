"""Real parts for tests: a mosquitto broker on a free port, an MQTT subscriber, the CLI."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parent.parent
# The contract's examples live in the shared/ folder beside the checkout; tests that compare
# against them skip with a reason where that folder is absent (a fresh clone).
SHARED = Path(os.environ.get("BEDSIDE_SHARED", ROOT.parent / "shared"))
EXAMPLES = SHARED / "examples"
# The repository's own example data (examples/generate.py): always present.
OWN_EXAMPLES = ROOT / "examples"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
# How long a test waits for an event that should come promptly (not a timing assertion:
# a healthy run never gets near it; it only keeps a broken run from hanging).
EVENT_TIMEOUT = 30.0


def wait_until(predicate, timeout: float = EVENT_TIMEOUT, what: str = "condition"):
    """Poll state another thread or process writes (the database) until it holds.

    The deadline only keeps a broken run from hanging; it is not a timing assertion.
    Returns the predicate's (truthy) value.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last: {value!r})")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = EVENT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.02)


@dataclass
class Broker:
    """A real mosquitto on 127.0.0.1:<free port>, stoppable and restartable on the same port."""

    workdir: Path
    port: int = field(default_factory=free_port)
    persistence: bool = True
    extra_conf: str = ""
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None

    def conf_path(self) -> Path:
        conf = self.workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto drops to the mosquitto user, who can neither
            # write persistence nor read password/certificate files in pytest's
            # private temporary directories.
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n" + self.extra_conf)
        return conf

    def start(self) -> Broker:
        assert self.proc is None, "broker already running"
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_path())],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "mosquitto.log", "ab"),
        )
        wait_port(self.host, self.port)
        return self

    def stop(self) -> None:
        """Graceful stop (SIGTERM): mosquitto saves its persistence file."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=EVENT_TIMEOUT)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=EVENT_TIMEOUT)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Subscriber:
    """A real MQTT client that records every message it receives."""

    def __init__(
        self,
        broker: Broker,
        topics: list[str] | str = "#",
        client_id: str = "",
        clean_session: bool = True,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
    ):
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.seen: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._subscribed = threading.Event()
        # clean_session=False (with a client_id): the broker queues QoS 1 messages while
        # this subscriber is disconnected, e.g. across a broker restart.
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
        )
        topics = [topics] if isinstance(topics, str) else topics

        def on_connect(client, userdata, flags, reason_code, properties):
            client.subscribe([(t, 1) for t in topics])

        def on_subscribe(client, userdata, mid, reason_codes, properties):
            self._subscribed.set()

        def on_message(client, userdata, msg):
            with self._cond:
                self.seen.append((msg.topic, msg.payload, bool(msg.retain)))
                self._cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        if username is not None:  # a broker with a password file
            self.client.username_pw_set(username, password)
        if ca_file is not None:  # a TLS listener, verified against this CA
            self.client.tls_set(ca_certs=ca_file)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(EVENT_TIMEOUT):
            raise TimeoutError("subscriber did not get SUBACK")

    def wait_for(self, predicate, timeout: float = EVENT_TIMEOUT):
        """Block until predicate(list of (topic, payload, retain)) is truthy; return its value."""
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.seen), timeout)
            if not ok:
                raise AssertionError(f"condition not met; messages seen: {self.seen[-10:]!r}")
            return predicate(self.seen)

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.seen if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def write_config(path: Path, sections: dict) -> Path:
    """Write a TOML config from {section: {key: value}} (values: str, int, float, bool, list)."""

    def fmt(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(v)

    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {fmt(v)}" for k, v in keys.items() if v is not None]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def bedside_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    env.pop("BEDSIDE_CONFIG", None)
    env.update(extra)
    return env


def run_bedside(
    *args: str,
    config: Path | None = None,
    input: str | None = None,
    timeout: float = 120,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (``python -m monitor``)."""
    cmd = [sys.executable, "-m", "monitor"]
    if config is not None:
        cmd += ["--config", str(config)]
    cmd += list(args)
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        env=env or bedside_env(),
        cwd=ROOT,
    )


def start_bedside(
    *args: str, config: Path | None = None, env: dict | None = None, log: Path | None = None
) -> subprocess.Popen:
    """Start a long-running CLI command (monitor, recorder, web) in the background."""
    cmd = [sys.executable, "-m", "monitor"]
    if config is not None:
        cmd += ["--config", str(config)]
    cmd += list(args)
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        cmd, stdout=out, stderr=subprocess.STDOUT, env=env or bedside_env(), cwd=ROOT
    )


def stop_process(
    proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = EVENT_TIMEOUT
) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def start_generated_broker(
    workdir: Path, config_path: Path, nodes: str, *, log_all: bool = False
) -> tuple[subprocess.Popen, int]:
    """mosquitto on a free port running exactly the files `bedside broker-config` writes
    (into workdir/mosquitto).  Test glue only: as root, `user root` (mosquitto would drop to
    its own user and not reach pytest's private directory), and its log to a file."""
    port = free_port()
    d = workdir / "mosquitto"
    r = run_bedside(
        "broker-config", "--nodes", nodes, "--dir", str(d), "--port", str(port),
        "--bind", "127.0.0.1", config=config_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    extra = ("user root\n" if os.geteuid() == 0 else "") + "log_dest stderr\n"
    extra += "log_type all\n" if log_all else ""
    (workdir / "run.conf").write_text((d / "mosquitto.conf").read_text() + extra)
    with open(workdir / "mosquitto.log", "ab") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(workdir / "run.conf")], stdout=subprocess.DEVNULL, stderr=log
        )
    wait_port("127.0.0.1", port)
    return proc, port


def broker_credentials(workdir: Path) -> dict[str, dict]:
    """account -> its [mqtt] settings, from the credentials `bedside broker-config` wrote."""
    import tomllib

    folder = workdir / "mosquitto" / "credentials"
    return {p.stem: tomllib.loads(p.read_text())["mqtt"] for p in folder.glob("*.toml")}
