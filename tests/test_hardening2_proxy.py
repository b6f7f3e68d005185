"""Behind a real reverse proxy, wrong passwords lock out one client, not everyone
(issue 21, #2).

waitress clears X-Forwarded-For from a peer it does not trust, and with no
``trusted_proxy`` it trusts none: behind nginx every client was 127.0.0.1, so ten wrong
guesses from anyone locked the owner out.  Here Debian's nginx runs on loopback in front
of the real waitress server, and the two "phones" are two loopback source addresses
(127.0.0.2 and 127.0.0.3: Linux answers for all of 127.0.0.0/8), so nginx sees two
peers and says so in X-Forwarded-For, as it would for two phones on the Wi-Fi.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.support import EVENT_TIMEOUT, free_port, wait_port
from web.server import ServerThread

PASSWORD = "s3cret"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PHONE_A, PHONE_B = "127.0.0.2", "127.0.0.3"

needs_nginx = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="nginx is not installed (scripts/test installs it)"
)


def post_cramp(port: int, password: str, source: str, headers: dict | None = None) -> int:
    """POST /api/cramps with a Bearer password from ``source`` (a loopback address)."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=EVENT_TIMEOUT, source_address=(source, 0)
    )
    try:
        conn.request(
            "POST",
            "/api/cramps",
            body=json.dumps({}),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {password}",
                **(headers or {}),
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture
def dashboard(app_factory, filled):
    app = app_factory({"web": {"password": PASSWORD, "behind_proxy": True}})
    server = ServerThread(app).start()
    yield server
    server.stop()


@pytest.fixture
def nginx(tmp_path, dashboard):
    """nginx on a free loopback port proxying to the dashboard, as docs/security.md shows
    (plain HTTP here: TLS changes nothing about who the peer is)."""
    root = tmp_path / "nginx"
    root.mkdir()
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            daemon off;
            master_process off;
            pid {root}/nginx.pid;
            error_log {root}/error.log warn;
            events {{ worker_connections 64; }}
            http {{
                access_log off;
                client_body_temp_path {root}/body;
                proxy_temp_path {root}/proxy;
                fastcgi_temp_path {root}/fastcgi;
                uwsgi_temp_path {root}/uwsgi;
                scgi_temp_path {root}/scgi;
                server {{
                    listen 127.0.0.1:{port};
                    location / {{
                        proxy_pass http://127.0.0.1:{dashboard.port};
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-Host $host;
                        proxy_set_header X-Forwarded-Proto $scheme;
                        proxy_set_header X-Forwarded-For $remote_addr;
                    }}
                }}
            }}
            """
        )
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port("127.0.0.1", port)
        yield port
    finally:
        proc.terminate()
        proc.wait(EVENT_TIMEOUT)


@needs_nginx
def test_ten_wrong_guesses_behind_nginx_lock_out_only_that_phone(nginx):
    for _ in range(10):
        assert post_cramp(nginx, "guess", PHONE_A) == 401
    assert post_cramp(nginx, PASSWORD, PHONE_A) == 429  # this phone is locked out ...
    assert post_cramp(nginx, PASSWORD, PHONE_B) == 201  # ... the owner's phone is not


def test_a_client_talking_to_waitress_directly_cannot_forge_x_forwarded_for(dashboard):
    """Only the proxy's address (127.0.0.1) is trusted: from 127.0.0.2 the header is
    dropped, so inventing a new address per guess does not reset the count."""
    for i in range(10):
        forged = {"X-Forwarded-For": f"198.51.100.{i}"}
        assert post_cramp(dashboard.port, "guess", PHONE_A, forged) == 401
    fresh = {"X-Forwarded-For": "198.51.100.200"}
    assert post_cramp(dashboard.port, PASSWORD, PHONE_A, fresh) == 429


@pytest.mark.parametrize("value", ["*", "localhost", "127.0.0.1/8", "127.000.000.001", ""])
def test_trusted_proxy_must_be_one_address_as_the_system_writes_it(value):
    from monitor.config import ConfigError, parse

    with pytest.raises(ConfigError) as exc:
        parse(f'[web]\nbehind_proxy = true\ntrusted_proxy = "{value}"\n', "c.toml")
    assert any("trusted_proxy" in line for line in exc.value.errors), exc.value.errors


def test_without_behind_proxy_waitress_trusts_no_proxy(app_factory, filled):
    from web.server import proxy_settings

    assert proxy_settings(app_factory({"web": {"password": PASSWORD}})) == {}
    behind = app_factory({"web": {"password": PASSWORD, "behind_proxy": True}})
    assert proxy_settings(behind)["trusted_proxy"] == "127.0.0.1"
