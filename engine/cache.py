"""lexgate's cache directory: the parser's tables and checked bundles, to start fast.

Where: $LEXGATE_CACHE_DIR, else $XDG_CACHE_HOME/lexgate, else ~/.cache/lexgate; created 0700,
and not used at all when it is not this user's alone (a cache someone else can write is never
trusted). LEXGATE_NO_CACHE=1 turns it off. Safe to delete at any time.

A checked bundle is stored under the hash of its policy files (paths and texts) and of the
engine's own source files, so an edited policy or an upgraded engine never meets a stale entry;
an entry that cannot be read, or is not a checked bundle of this engine, is ignored and rebuilt.
Each policy file's AST is kept too (under the hash of the engine, its name and its text), so
after an edit only that file is parsed again. The newest MAX_ENTRIES bundles (MAX_MODULES
files) are kept: each engine or policy edit makes new keys, and a cache that only grew would
fill the disk of whoever edits policies all day.

Reading an entry is the warm start's main cost, so dataclass records are written as (class,
field values) and rebuilt without dataclasses' generic `__setstate__` (which looks the fields
up again for every one of the ~8,000 records of the shipped bundle): a third of the time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from . import ast, ir

MAX_ENTRIES = 32
MAX_MODULES = 512  # parsed files: a few bundles' worth
# Bumped when the layout of an entry changes (the engine's hash covers the classes themselves).
FORMAT = b"lexgate-bundle-2"


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


def _engine_files(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in root.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            if entry.name != "__pycache__":
                found += _engine_files(entry, name + "/")
        elif entry.name.endswith((".py", ".lark")):
            found.append((name, entry))
    return found


@cache
def engine_fingerprint() -> str:
    """The hash of the engine's own files (sub-packages included): a changed engine makes new
    keys."""
    digest = hashlib.sha256(FORMAT)
    root = resources.files(__package__ or "lexgate.engine")
    for name, entry in sorted(_engine_files(root), key=lambda pair: pair[0]):
        digest.update(name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()


def bundle_key(sources: Mapping[str, str]) -> str:
    digest = hashlib.sha256(engine_fingerprint().encode())
    for path in sorted(sources):
        digest.update(path.encode() + b"\0" + sources[path].encode() + b"\0")
    return digest.hexdigest()


# ---- reading and writing an entry ---------------------------------------------------------------


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """A dataclass record from its field values, as pickle's `__reduce__` wrote them. Called
    only while reading an entry of this user's private cache."""
    record: Any = object.__new__(cls)
    setter = object.__setattr__  # frozen records: the way dataclasses' own __init__ sets them
    for name, value in zip(_field_names(cls), values, strict=True):
        setter(record, name, value)
    return record


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        if dataclasses.is_dataclass(cls) and cls.__module__.startswith(_ENGINE):
            return _rebuild, (cls, tuple(getattr(obj, name) for name in _field_names(cls)))
        return NotImplemented


_ENGINE = (__package__ or "lexgate.engine") + "."


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    buffer.write(FORMAT + b"\n")
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    header = FORMAT + b"\n"
    if not data.startswith(header):
        raise ValueError("not an entry of this format")
    return pickle.loads(memoryview(data)[len(header) :])


def load_checked(key: str) -> ir.CheckedBundle | None:
    value = _load("bundle", key)
    return value if isinstance(value, ir.CheckedBundle) else None


def store_checked(key: str, checked: ir.CheckedBundle) -> None:
    _store("bundle", key, checked)


def module_key(file: str, text: str) -> str:
    """One policy file's parse (its AST), by the engine's hash, its name and its text: after
    an edit only the edited file is parsed again (the checker still sees every module)."""
    digest = hashlib.sha256(engine_fingerprint().encode())
    digest.update(file.encode() + b"\0" + text.encode())
    return digest.hexdigest()


def load_module(key: str) -> ast.Module | None:
    value = _load("module", key)
    return value if isinstance(value, ast.Module) else None


def store_module(key: str, module: ast.Module) -> None:
    _store("module", key, module)


def _load(kind: str, key: str) -> Any:
    directory = cache_dir()
    if directory is None:
        return None
    entry = directory / f"{kind}-{key}.pickle"
    try:
        value: Any = loads(entry.read_bytes())
    except Exception:  # absent, truncated, from another Python: rebuilt, never trusted
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # in use: pruned last
    return value


def _store(kind: str, key: str, value: Any) -> None:
    directory = cache_dir()
    if directory is None:
        return
    try:
        data = dumps(value)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{kind}-")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, directory / f"{kind}-{key}.pickle")
    except Exception:  # a cache that cannot be written only costs the next start
        return
    prune(directory, kind)


def prune(directory: Path, kind: str = "bundle", keep: int | None = None) -> None:
    """Remove all but the `keep` newest entries of a kind (another process may be removing the
    same ones: a file already gone is fine)."""
    if keep is None:
        keep = MAX_ENTRIES if kind == "bundle" else MAX_MODULES
    entries = []
    for entry in directory.glob(f"{kind}-*.pickle"):
        with contextlib.suppress(OSError):
            entries.append((entry.stat().st_mtime_ns, entry))
    entries.sort(reverse=True)
    for _, entry in entries[keep:]:
        with contextlib.suppress(OSError):
            entry.unlink()
