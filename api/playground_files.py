"""The playground's files on disk (api/routes/playground.py): the bundle and the example
operations read for the page, and an admin's save, written atomically inside the policy folder
and never through a symbolic link."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from lexgate.engine.bundle import policy_files
from lexgate.engine.vocabulary import FieldError

from .errors import ApiError
from .routes._body import parse_json


def _target(root: Path, path: str) -> Path:
    """Where `path` (already a clean relative name) is written: inside `root`, never through a
    symbolic link (one could point anywhere)."""
    target = root / path
    if target.is_symlink() or not target.resolve().is_relative_to(root):
        raise ApiError(
            422,
            f"`{path}` leads outside the policy directory; it is not written",
            fields=[FieldError(f"save[{path!r}]", "outside the policy directory")],
        )
    return target


def save_files(root: Path, files: dict[str, str], paths: list[str]) -> list[str]:
    """Write the files named by `paths` under `root`, each atomically (a temporary file in its
    folder, then a rename): a reader sees the old text or the new, never half of one."""
    unknown = [p for p in paths if p not in files]
    if unknown:
        raise ApiError(
            422,
            f"`{unknown[0]}` is to be saved but is not among the files sent",
            fields=[FieldError("save", "names a file not in `files`")],
        )
    targets = {path: _target(root, path) for path in dict.fromkeys(paths)}
    for path, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".playground-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(files[path])
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return list(targets)


def read_bundle(root: Path, max_files: int, max_file_bytes: int) -> dict[str, str]:
    """The policy files under `root`, named relative to it (as the page shows them)."""
    files: dict[str, str] = {}
    for path in policy_files(root)[:max_files]:
        try:
            if path.stat().st_size > max_file_bytes:
                continue
            files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the checker will name what is missing; the page shows what it can read
    return files


def read_operations(folder: Path, max_count: int, max_file_bytes: int) -> dict[str, Any]:
    """The example operations (examples/*.json next to the policies): name -> JSON. Profiles
    (a `controller` and nothing an operation decides on) are left out by name."""
    operations: dict[str, Any] = {}
    if not folder.is_dir():
        return operations
    for path in sorted(folder.glob("*.json"))[:max_count]:
        if path.stem.startswith("profile") or path.stat().st_size > max_file_bytes:
            continue
        try:
            operations[path.stem] = parse_json(path.read_bytes())
        except (OSError, ApiError):
            continue
    return operations
