"""Keep `bedside monitor` small on a Pi Zero 2 W (512 MB): load on first use the standard
modules that paho imports at its top but the daemon needs only for TLS, websockets, proxies
and trials.

``import ssl`` and ``import hashlib`` map OpenSSL's libcrypto (about 3.5 MB resident), and
paho's ``import urllib.request`` pulls http.client, tempfile and shutil behind it; uuid
(paho: a random client id) and subprocess (gpiozero: a few devices' helpers) are small but
as unused.  Without TLS, a proxy or a running trial the daemon never uses them.
:func:`defer` puts a stand-in module in ``sys.modules`` for each; the first attribute the
program asks of one imports the real module and copies it into the stand-in, so every
holder of a reference (paho's ``ssl`` global too) sees the real thing from then on.

One exception: paho's socket loop names ``ssl.SSLWantReadError`` / ``SSLWantWriteError`` in
``except`` clauses, which Python evaluates whenever a read raises anything.  Before ssl is
loaded no SSL socket exists, so nothing can raise them: the stand-in holds placeholder
classes that are never raised, replaced by the real ones when TLS loads ssl
(``ssl.SSLContext`` comes first in every TLS path).  tests/test_daemon_imports.py checks the
daemon's import graph and that TLS still works.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types

DEFERRED = ("ssl", "hashlib", "hmac", "secrets", "urllib.request", "uuid", "subprocess")
_lock = threading.RLock()


class _NeverRaised(Exception):
    """Stands in for an ssl exception class while no SSL socket can exist."""


class _Deferred(types.ModuleType):
    """A module imported on the first attribute asked of it."""

    def __getattr__(self, attr: str):
        with _lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
                try:
                    real = importlib.import_module(self.__name__)
                except BaseException:
                    sys.modules[self.__name__] = self
                    raise
                self.__dict__.update(real.__dict__)
                sys.modules[self.__name__] = self
        try:
            return self.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}") from None


def defer(names=DEFERRED) -> list[str]:
    """Install the stand-ins for the modules not imported yet; return their names."""
    done = []
    for name in names:
        if name in sys.modules:
            continue
        module = _Deferred(name)
        if name == "ssl":
            module.SSLWantReadError = module.SSLWantWriteError = _NeverRaised
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(importlib.import_module(parent), child, module)
        done.append(name)
    return done


def loaded(name: str) -> bool:
    """Whether the real module is in this process (not only its stand-in)."""
    module = sys.modules.get(name)
    return module is not None and (
        not isinstance(module, _Deferred) or "__file__" in module.__dict__
    )
