"""A trial's schedule and salt, sealed in the database with a key of the owner's own.

The database is readable by the group ``bedside`` (the installer adds the participant
to it, for `bedside cramp`), and a backup is a copy of it: anyone who could open it
with ``sqlite3`` read every future night's arm.  So the arms and the salt are stored
masked by a key kept beside the database in ``<database>.trial-key`` (mode 0600, the
database owner's: the service user ``bedside``), and unmasked here, in the store,
for the processes that run as that user (the daemon, the dashboard,
``sudo -u bedside bedside trial ...``).

The mask is a one-time pad: HMAC-SHA256(key, nonce, label, block) bytes, a fresh
random nonce per trial (stored beside the masked salt).  Each night's stored arm is
the planned one flipped when its pad bit is 1, so the column still holds "warm" or
"usual" (its CHECK and the schema stay as they were) and says nothing about the plan.
The commitment stays in clear: it is computed from the real schedule, and without
the salt it says nothing either.
"""

from __future__ import annotations

# hashlib, hmac and secrets are imported where they are used: this module loads with the
# store, and the daemon maps OpenSSL's libcrypto only when a trial needs it (daemon/lean.py).
import os
from collections.abc import Sequence
from pathlib import Path

from monitor.store.db import StoreError

KEY_SUFFIX = ".trial-key"
SEALED = "sealed1:"  # a stored salt that starts so is masked (older trials are in clear)
_OTHER_ARM = {"warm": "usual", "usual": "warm"}


class SealError(StoreError):
    """The key that unmasks a trial's schedule cannot be had (message for humans)."""


def key_path(database: Path) -> Path:
    return database.with_name(database.name + KEY_SUFFIX)


_AS_OWNER = (
    "use the dashboard, or run the command as the database's owner"
    " (sudo -u bedside bedside trial ...)"
)


def _unreadable(key: Path, why: str, advice: str = _AS_OWNER) -> SealError:
    return SealError(f"the trial's schedule is sealed with {key}, which {why}; {advice}")


def read_key(database: Path) -> bytes:
    key = key_path(database)
    try:
        return bytes.fromhex(key.read_text().strip())
    except PermissionError:
        raise _unreadable(key, "only the database's owner may read") from None
    except FileNotFoundError:
        advice = "restore it from the backup the database came from (docs/operations.md)"
        raise _unreadable(key, "is missing", advice) from None
    except (OSError, ValueError) as exc:
        raise _unreadable(key, f"cannot be read ({exc})") from None


def key_for_new_trial(database: Path) -> bytes:
    """The key, made (0600) on the first trial by the database's owner only: a key of
    anyone else's would be theirs to read, and the service's to miss."""
    import secrets

    key = key_path(database)
    if key.exists():
        return read_key(database)
    if database.stat().st_uid != os.geteuid():
        raise SealError(
            "a trial is started by the database's owner (the dashboard, or"
            " sudo -u bedside bedside trial start): its schedule is sealed with a key"
            f" only that user reads ({key})"
        )
    value = secrets.token_bytes(32)
    try:
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago
        return read_key(database)
    with os.fdopen(fd, "w") as f:
        f.write(value.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return value


def copy_key(database: Path, backup: Path) -> None:
    """Put the key beside a backup of ``database`` (0600), when there is one to copy."""
    try:
        value = key_path(database).read_bytes()
    except OSError:
        return
    target = key_path(backup)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value)


def _pad(key: bytes, nonce: bytes, label: bytes, n: int) -> bytes:
    import hashlib
    import hmac

    out = b""
    block = 0
    while len(out) < n:
        msg = nonce + b"|" + label + b"|" + block.to_bytes(4, "big")
        out += hmac.new(key, msg, hashlib.sha256).digest()
        block += 1
    return out[:n]


def _flips(key: bytes, nonce: bytes, n: int) -> list[bool]:
    pad = _pad(key, nonce, b"arms", (n + 7) // 8)
    return [bool(pad[i // 8] >> (i % 8) & 1) for i in range(n)]


def is_sealed(stored_salt: str) -> bool:
    return stored_salt.startswith(SEALED)


def seal(key: bytes, salt: str, arms: Sequence[str]) -> tuple[str, list[str]]:
    """(stored salt, stored arms) for a new trial."""
    import secrets

    nonce = secrets.token_bytes(16)
    raw = salt.encode("utf-8")
    masked = bytes(a ^ b for a, b in zip(raw, _pad(key, nonce, b"salt", len(raw)), strict=True))
    flips = _flips(key, nonce, len(arms))
    stored = [_OTHER_ARM[arm] if flip else arm for arm, flip in zip(arms, flips, strict=True)]
    return f"{SEALED}{nonce.hex()}:{masked.hex()}", stored


def _parts(stored_salt: str) -> tuple[bytes, bytes]:
    nonce, masked = stored_salt.removeprefix(SEALED).split(":", 1)
    return bytes.fromhex(nonce), bytes.fromhex(masked)


def open_salt(key: bytes, stored_salt: str) -> str:
    nonce, masked = _parts(stored_salt)
    pad = _pad(key, nonce, b"salt", len(masked))
    return bytes(a ^ b for a, b in zip(masked, pad, strict=True)).decode("utf-8")


def open_arms(key: bytes, stored_salt: str, stored: Sequence[str]) -> list[str]:
    nonce, _ = _parts(stored_salt)
    flips = _flips(key, nonce, len(stored))
    return [_OTHER_ARM[arm] if flip else arm for arm, flip in zip(stored, flips, strict=True)]
