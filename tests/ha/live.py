"""A real Home Assistant for tests: ``hass -c <dir>`` from the cached venv (scripts/_setup.sh
``ensure_ha_schemas``), with MQTT set up by a config entry and a long-lived token for REST.

Only what the tests need is configured (``default_config`` pulls in dozens of integrations):
``homeassistant``, ``http`` on a free port, ``api``, ``counter``, ``climate`` (its services,
no entities), ``logbook`` and ``automation: !include automations.yaml``.  The token is made
the way Home Assistant makes one (a JWT signed with the refresh token's key), from an auth
store written before the first start, so no login flow or websocket is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.support import free_port, wait_until

TEST_CACHE = Path(os.environ.get("BEDSIDE_TEST_CACHE") or Path.home() / ".cache" / "bedside-test")
HA_PYTHON = Path(os.environ.get("BEDSIDE_HA_PYTHON") or TEST_CACHE / "ha-venv" / "bin" / "python")
HA_VERSION = "2024.3.3"
# Written by ensure_ha_schemas once what `hass` needs to start is installed.
RUNNABLE_STAMP = HA_PYTHON.parent.parent / f".bedside-ha-{HA_VERSION}-runnable-1"
STARTUP_TIMEOUT = 240.0  # a first start on a slow machine compiles the frontend's templates


def why_not_runnable() -> str | None:
    if not HA_PYTHON.exists() or not RUNNABLE_STAMP.exists():
        return (
            f"Home Assistant {HA_VERSION} is not installed to run at {HA_PYTHON.parent.parent}: "
            "./scripts/test installs it (scripts/_setup.sh ensure_ha_schemas)"
        )
    return None


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt_hs256(claims: dict, key: str) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = _b64(hmac.new(key.encode(), head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


def _storage(key: str, data: dict) -> str:
    return json.dumps({"version": 1, "minor_version": 1, "key": key, "data": data})


class HomeAssistant:
    """One Home Assistant process on 127.0.0.1:<free port>, restartable."""

    def __init__(self, workdir: Path, mqtt: dict, automations: list[dict], extra_yaml: str = ""):
        self.dir = workdir
        self.port = free_port()
        self.mqtt = mqtt  # broker, port, username, password
        self.automations = automations
        self.extra_yaml = extra_yaml
        self.proc: subprocess.Popen | None = None
        self._token = ""
        self._write()

    def _write(self) -> None:
        storage = self.dir / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        (self.dir / "configuration.yaml").write_text(
            "homeassistant:\n  name: bedside test\n  unit_system: metric\n"
            "  time_zone: Europe/Berlin\n  latitude: 52.52\n  longitude: 13.40\n"
            "  elevation: 34\n  currency: EUR\n  country: DE\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "api:\nclimate:\nlogbook:\nlogger:\n  default: info\n"
            "automation: !include automations.yaml\n" + self.extra_yaml
        )
        (self.dir / "automations.yaml").write_text(json.dumps(self.automations, indent=1))
        user, refresh, key = uuid.uuid4().hex, uuid.uuid4().hex, secrets.token_hex(32)
        (storage / "auth").write_text(
            _storage(
                "auth",
                {
                    "users": [
                        {
                            "id": user,
                            "group_ids": [],
                            "is_owner": True,
                            "is_active": True,
                            "name": "bedside tests",
                            "system_generated": False,
                            "local_only": False,
                        }
                    ],
                    "groups": [],  # Home Assistant adds its system groups, the user as admin
                    "credentials": [],
                    "refresh_tokens": [
                        {
                            "id": refresh,
                            "user_id": user,
                            "client_id": None,
                            "client_name": "bedside tests",
                            "client_icon": None,
                            "token_type": "long_lived_access_token",
                            "created_at": "2026-01-01T00:00:00+00:00",
                            "access_token_expiration": 10 * 365 * 86400,
                            "token": secrets.token_hex(64),
                            "jwt_key": key,
                            "last_used_at": None,
                            "last_used_ip": None,
                            "credential_id": None,
                            "version": HA_VERSION,
                        }
                    ],
                },
            )
        )
        now = int(time.time())
        self._token = jwt_hs256({"iss": refresh, "iat": now, "exp": now + 86400}, key)
        entry = {
            "entry_id": uuid.uuid4().hex, "version": 1, "minor_version": 1, "domain": "mqtt",
            "title": "bedside test broker", "data": {**self.mqtt, "discovery": True},
            "options": {}, "pref_disable_new_entities": False, "pref_disable_polling": False,
            "source": "user", "unique_id": None, "disabled_by": None,
        }  # fmt: skip
        (storage / "core.config_entries").write_text(
            _storage("core.config_entries", {"entries": [entry]})
        )

    @property
    def log_path(self) -> Path:
        return self.dir / "home-assistant.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> HomeAssistant:
        assert self.proc is None
        hass = HA_PYTHON.parent / "hass"
        out = open(self.dir / "hass.out", "ab")
        self.proc = subprocess.Popen(
            [str(hass), "-c", str(self.dir), "--skip-pip"], stdout=out, stderr=subprocess.STDOUT
        )

        def answering():
            if self.proc.poll() is not None:
                raise AssertionError(f"hass exited ({self.proc.returncode}): {self.log()[-3000:]}")
            try:
                return self.get("/api/")["message"] == "API running."
            except (OSError, urllib.error.URLError, ValueError):
                return False

        wait_until(answering, timeout=STARTUP_TIMEOUT, what="Home Assistant's REST API")
        wait_until(
            lambda: "mqtt" in self.get("/api/config")["components"],
            timeout=STARTUP_TIMEOUT,
            what="Home Assistant's MQTT integration",
        )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    # -- REST ------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        return json.loads(text) if text.startswith(("{", "[")) else text

    def get(self, path: str):
        return self.request("GET", path)

    def states(self) -> dict[str, dict]:
        return {s["entity_id"]: s for s in self.get("/api/states")}

    def state(self, entity_id: str) -> dict | None:
        return self.states().get(entity_id)

    def wait_state(self, entity_id: str, predicate, what: str) -> dict:
        """Poll the entity's state object until ``predicate(state)`` holds; return it."""

        def check():
            s = self.state(entity_id)
            return s if s is not None and predicate(s) else None

        return wait_until(check, what=f"{entity_id}: {what}")
