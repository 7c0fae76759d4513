"""lexgate's cache directory: the parser's tables and checked bundles, to start fast.

Where: $LEXGATE_CACHE_DIR, else $XDG_CACHE_HOME/lexgate, else ~/.cache/lexgate; created 0700,
and not used at all when it is not this user's alone (a cache someone else can write is never
trusted). LEXGATE_NO_CACHE=1 turns it off. Safe to delete at any time.

A checked bundle is stored under the hash of its policy files (paths and texts) and of the
engine's own source files, so an edited policy or an upgraded engine never meets a stale entry;
an entry that cannot be read, or is not a checked bundle, is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from . import ir


def cache_dir() -> Path | None:
    if os.environ.get("LEXGATE_NO_CACHE"):
        return None
    base = os.environ.get("LEXGATE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lexgate"
    )
    try:
        directory = Path(base)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = directory.stat()
        if status.st_uid != os.getuid() or status.st_mode & 0o077:
            return None
        return directory
    except OSError:
        return None


@cache
def engine_fingerprint() -> str:
    """The hash of the engine's own files: a changed engine makes new keys."""
    digest = hashlib.sha256()
    root = resources.files(__package__ or "lexgate.engine")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".py", ".lark")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()


def bundle_key(sources: Mapping[str, str]) -> str:
    digest = hashlib.sha256(engine_fingerprint().encode())
    for path in sorted(sources):
        digest.update(path.encode() + b"\0" + sources[path].encode() + b"\0")
    return digest.hexdigest()


def load_checked(key: str) -> ir.CheckedBundle | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        with open(directory / f"bundle-{key}.pickle", "rb") as file:
            value: Any = pickle.load(file)
    except Exception:  # absent, truncated, from another Python: rebuilt, never trusted
        return None
    return value if isinstance(value, ir.CheckedBundle) else None


def store_checked(key: str, checked: ir.CheckedBundle) -> None:
    directory = cache_dir()
    if directory is None:
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".bundle-")
        with os.fdopen(handle, "wb") as file:
            pickle.dump(checked, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, directory / f"bundle-{key}.pickle")
    except Exception:  # a cache that cannot be written only costs the next start
        return
