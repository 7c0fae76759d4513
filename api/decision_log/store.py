"""Where a log (or key store) lives: `sqlite:///path`, a bare path, or `postgresql://…`."""

from __future__ import annotations

import re
from pathlib import Path


def parse_store_url(url: str) -> tuple[str, str]:
    """`("postgresql", url)` or `("sqlite", path)`; `sqlite:///rel.db`, `sqlite:////abs.db`."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url) and not re.match(r"^[A-Za-z]:[\\/]", url):
        raise ValueError(f"unsupported store `{url}`: use a path, sqlite:///… or postgresql://…")
    return "sqlite", url


def default_signing_key(url: str) -> Path:
    """Where the checkpoint signing key lives unless configured: next to an SQLite log (in a
    file of its own, never in the database), `var/log-signing-key` for PostgreSQL."""
    kind, target = parse_store_url(url) if url.strip().lower() != "none" else ("none", "")
    if kind == "sqlite" and target != ":memory:":
        return Path(f"{target}.signing-key")
    return Path("var") / "log-signing-key"
