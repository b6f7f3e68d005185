"""Who may read the database's files: never every local user.

SQLite creates a database with ``0644 & ~umask`` and its -wal/-shm/-journal with the
database file's own mode, so `bedside monitor` or `bedside backup` started from a
login shell (umask 022) left every reading, cramp and note readable by any local user.
Here the file is created first, with no permission at all for "other":
``0640 & ~umask`` for a database (what SQLite's own 0644 gave under the services'
``UMask=0007``: the group ``bedside`` reads, only the owner writes) and for a backup.
A trial's schedule is sealed apart (monitor/store/seal.py), since the group reads.

A file of this process's own that is already open to "other" (made before) loses
those bits when it is opened.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_MODE = 0o640
BACKUP_MODE = 0o640
NO_OTHER = ~0o007
SIDE_FILES = ("-wal", "-shm", "-journal")


def create_private(path: Path, mode: int) -> None:
    """Create ``path`` empty with ``mode & ~umask`` (the kernel applies the umask) and
    nothing for "other", unless it exists (an empty file is a valid empty database)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & NO_OTHER)
    except OSError:  # it exists; or it cannot be made, which SQLite then says in its words
        return
    os.close(fd)


def tighten(path: Path) -> None:
    """Take "other"'s permissions off the database and its side files, where this
    process owns them (a file of another user's is left as it is)."""
    for name in (path.name, *(path.name + s for s in SIDE_FILES)):
        file = path.with_name(name)
        with contextlib.suppress(OSError):
            st = file.stat()
            if st.st_mode & 0o007 and st.st_uid == os.geteuid():
                os.chmod(file, st.st_mode & 0o7770)
                log.info("%s was readable by every local user: now %o", file, st.st_mode & 0o770)


def prepare_database(path: Path) -> None:
    """Before SQLite opens ``path`` for writing: create it private, tighten it if old."""
    create_private(path, DATABASE_MODE)
    tighten(path)


def prepare_backup(path: Path) -> None:
    """Before a backup is written to ``path``: the same, with no group write."""
    create_private(path, BACKUP_MODE)
    with contextlib.suppress(OSError):
        st = path.stat()
        if st.st_uid == os.geteuid():
            os.chmod(path, st.st_mode & BACKUP_MODE)
