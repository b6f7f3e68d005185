"""The broker side of "one room cannot speak for another": mosquitto's config, its
password file and an ACL for a list of nodes (`bedside broker-config`).

Who may do what (docs/security.md):
- each node (user = its node id) writes only ``<prefix>/<id>/#`` and its own Home
  Assistant discovery configs, and reads ``<discovery>/status`` (to resend them);
- the recorder reads ``<prefix>/#`` and writes nothing;
- Home Assistant reads ``<prefix>/#`` and ``<discovery>/#`` and writes only its
  ``<discovery>/status`` birth message;
- nobody else connects (no anonymous clients);
- a client's id is its user name (``use_username_as_clientid``): no account can connect
  as another's client and knock it off or take over its session (the recorder's);
- each account has a twin ``<user>.doctor`` with the same password and no topics, for
  ``bedside doctor`` to check the credentials without taking the service's client id.

Passwords are stored as mosquitto stores them (PBKDF2-SHA512, ``$7$`` format, what
``mosquitto_passwd`` writes), so no mosquitto tool is needed on the machine that
makes the files.  Each account's password is also written, for its owner, to
``credentials/<user>.toml`` (mode 0600): the ``[mqtt]`` lines for that node's config.
Running the command again keeps the passwords already issued.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from monitor.config import Config
from monitor.vocabulary import NODE_ID_RULE, is_node_id

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default for $7$ (mosquitto 2.x)
RECORDER_USER = "bedside-recorder"
# A node id never holds a dot, so no node can be named like another account's twin.
DOCTOR_SUFFIX = ".doctor"
HOME_ASSISTANT_USER = "homeassistant"


class BrokerConfigError(ValueError):
    """The node list or the options cannot make a safe config (message for humans)."""


def doctor_user(user: str) -> str:
    """The account `bedside doctor` connects with: ``user``'s twin (same password, no
    topics), so that its check does not take over ``user``'s client id."""
    return user + DOCTOR_SUFFIX


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """A password line's hash as mosquitto 2.x writes it: $7$iterations$salt$hash."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    role: str  # node | recorder | home-assistant


def node_topics(prefix: str, discovery: str, node: str) -> list[tuple[str, str]]:
    """(access, topic) a node needs: its own subtree, HA's status, and every discovery
    config the daemon publishes, taken from the list it publishes (one source: a new
    entity is allowed the day it is added, not refused in silence)."""
    from monitor.mqtt.payloads import Topics, discovery_messages

    rules = [("write", f"{prefix}/{node}/#")]
    rules += [("write", topic) for topic, _ in discovery_messages(Topics(prefix, node), discovery)]
    rules.append(("read", f"{discovery}/status"))
    return rules


def acl_text(accounts: list[Account], prefix: str, discovery: str) -> str:
    lines = [
        "# Made by `bedside broker-config`: each node writes only under its own id;",
        "# the recorder and Home Assistant read. Everything not listed is refused.",
        "",
    ]
    for account in accounts:
        lines.append(f"# {account.role}")
        lines.append(f"user {account.user}")
        if account.role == "node":
            rules = node_topics(prefix, discovery, account.user)
        elif account.role == "recorder":
            rules = [("read", f"{prefix}/#")]
        else:
            rules = [
                ("read", f"{prefix}/#"),
                ("read", f"{discovery}/#"),
                ("write", f"{discovery}/status"),
            ]
        lines += [f"topic {access} {topic}" for access, topic in rules]
        lines.append("")
    return "\n".join(lines)


def conf_text(directory: Path, port: int, bind: str | None) -> str:
    listener = f"listener {port}" + (f" {bind}" if bind else "")
    return "\n".join(
        [
            "# Made by `bedside broker-config`. Include it from /etc/mosquitto/mosquitto.conf",
            "# (or pass it with -c). Plain MQTT: on an untrusted network add a TLS listener",
            "# (docs/security.md).",
            "per_listener_settings false",
            listener,
            "allow_anonymous false",
            "# A client's id is its user name: nobody can connect as another account's client",
            "# (which would knock it off, or take over the recorder's persistent session).",
            "use_username_as_clientid true",
            f"password_file {directory / 'passwd'}",
            f"acl_file {directory / 'acl'}",
            "",
        ]
    )


def _issued(directory: Path, user: str) -> str | None:
    """The password issued to ``user`` by an earlier run, if its credentials file exists."""
    try:
        data = tomllib.loads((directory / "credentials" / f"{user}.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    password = data.get("mqtt", {}).get("password")
    return password if isinstance(password, str) and password else None


def _write_private(path: Path, text: str, group: str | None = None) -> None:
    """Write atomically, readable by the owner only, or also by ``group`` (the broker's
    account reads its password file and ACL after dropping root) when it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    gid = None
    if group is not None:
        try:
            import grp

            gid = grp.getgrnam(group).gr_gid
        except (ImportError, KeyError):
            gid = None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        if gid is not None:
            try:
                os.fchown(f.fileno(), -1, gid)
                os.fchmod(f.fileno(), 0o640)
            except OSError:
                pass
    os.replace(tmp, path)


def write_broker_config(
    config: Config,
    nodes: list[str],
    directory: Path,
    *,
    port: int = 1883,
    bind: str | None = None,
    recorder: bool = True,
    home_assistant: bool = True,
) -> list[Account]:
    """Write mosquitto.conf, passwd, acl and credentials/<user>.toml into ``directory``."""
    wanted = [n.strip() for n in nodes if n.strip()]
    if not wanted:
        raise BrokerConfigError("name at least one node (--nodes bedroom,kid)")
    bad = [n for n in wanted if not is_node_id(n)]
    if bad:
        raise BrokerConfigError(f"node id {bad[0]!r}: {NODE_ID_RULE}")
    reserved = {RECORDER_USER, HOME_ASSISTANT_USER} & set(wanted)
    if reserved:
        raise BrokerConfigError(f"{sorted(reserved)[0]!r} is the name of a reader account")
    if len(set(wanted)) != len(wanted):
        raise BrokerConfigError("a node id is listed twice")
    roles = [(n, "node") for n in wanted]
    if recorder:
        roles.append((RECORDER_USER, "recorder"))
    if home_assistant:
        roles.append((HOME_ASSISTANT_USER, "home-assistant"))
    directory = directory.resolve()
    accounts = [
        Account(user, _issued(directory, user) or secrets.token_urlsafe(18), role)
        for user, role in roles
    ]
    m = config.mqtt
    for account in accounts:
        _write_private(
            directory / "credentials" / f"{account.user}.toml",
            f"# [mqtt] for {account.role} {account.user} (made by `bedside broker-config`)\n"
            f'[mqtt]\nusername = "{account.user}"\npassword = "{account.password}"\n',
        )
    passwd = "".join(
        f"{user}:{mosquitto_hash(a.password)}\n"
        for a in accounts
        for user in (a.user, doctor_user(a.user))
    )
    _write_private(directory / "passwd", passwd, group="mosquitto")
    acl = acl_text(accounts, m.topic_prefix, m.discovery_prefix)
    _write_private(directory / "acl", acl, group="mosquitto")
    (directory / "mosquitto.conf").write_text(conf_text(directory, port, bind))
    return accounts
