"""Which bundle a document belongs to, and that bundle parsed and checked with the editor's
unsaved texts in place of the files on disk.

A policy file is checked as part of its bundle (a fact of policies/common is used by every
regime), so a keystroke in one file may change the diagnostics of another. Parses are cached
per file text: a keystroke re-parses the one file that changed (about 10 ms) and the checker
runs over the whole bundle (about 40 ms for the shipped packs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import ast
from ..bundle import COMMON_DIR, MAX_POLICY_BYTES, POLICY_SUFFIX, policy_files
from ..checker import check_modules
from ..diagnostics import Diagnostic, LexgateError, Span
from ..parser import check_despite_syntax_errors, parse_module
from .index import SymbolIndex


def find_bundle_root(path: Path) -> Path | None:
    """The bundle a policy file belongs to: the nearest folder above it that holds `common/`
    (policies/gdpr/breach.policy and policies/common/fx.policy both belong to policies/).
    None for a file outside any bundle, which is then checked on its own."""
    for folder in path.parents:
        if (folder / COMMON_DIR).is_dir():
            return folder
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """A bundle's files as the editor sees them, parsed."""

    root: Path | None
    sources: dict[str, str]  # absolute path -> text (the editor's, where the file is open)
    modules: dict[str, ast.Module]
    syntax: tuple[Diagnostic, ...]
    unreadable: tuple[Diagnostic, ...]  # files of the bundle that could not be read
    index: SymbolIndex

    def scope_of(self, path: str) -> str:
        return self.index.scopes.get(path, "")


class Documents:
    """The parse cache of one server; bundles are found afresh on each request (a file may be
    added to a bundle at any time)."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, ast.Module, tuple[Diagnostic, ...]]] = {}
        self._last: dict[str, Parsed] = {}  # bundle root (or lone file) -> its latest parse

    def parse(self, path: Path, overlays: Mapping[str, str]) -> Parsed:
        """The bundle of `path`, with `overlays` (absolute path -> the editor's text) read in
        place of the disk's."""
        root = find_bundle_root(path)
        names = {str(path)}
        if root is not None:
            names |= {str(file) for file in policy_files(root)}
            names |= {
                name
                for name in overlays
                if name.endswith(POLICY_SUFFIX) and Path(name).is_relative_to(root)
            }
        sources: dict[str, str] = {}
        problems: list[Diagnostic] = []
        for name in sorted(names):
            text = overlays.get(name)
            if text is None:
                text, problem = _read(Path(name))
                if problem is not None:
                    problems.append(problem)
                if text is None:
                    continue
            sources[name] = text
        key = str(root or path)
        last = self._last.get(key)
        if last is not None and not problems and last.sources == sources:
            return last  # nothing changed since: a hover after a hover
        modules: dict[str, ast.Module] = {}
        syntax: list[Diagnostic] = []
        for name, text in sources.items():
            module, found = self._parse(name, text)
            modules[name] = module
            syntax.extend(found)
        for stale in set(self._parsed) - set(sources):
            if root is not None and Path(stale).is_relative_to(root):
                del self._parsed[stale]  # a file deleted from the bundle
        parsed = Parsed(
            root=root,
            sources=sources,
            modules=modules,
            syntax=tuple(syntax),
            unreadable=tuple(problems),
            index=SymbolIndex(modules.values(), sources),
        )
        self._last[key] = parsed
        return parsed

    def _parse(self, name: str, text: str) -> tuple[ast.Module, tuple[Diagnostic, ...]]:
        cached = self._parsed.get(name)
        if cached is not None and cached[0] == text:
            return cached[1], cached[2]
        module, found = parse_module(text, name)
        self._parsed[name] = (text, module, tuple(found))
        return module, tuple(found)


def check(parsed: Parsed) -> list[Diagnostic]:
    """Every diagnostic of the bundle, as `lexgate check` gives them: with syntax errors, those
    and what the checker finds in the declarations that did parse (no follow-ons about a broken
    declaration), else the checker's errors, else its warnings."""
    if parsed.unreadable:  # a file is missing from the bundle: its names would all be unknown
        return [*parsed.unreadable, *parsed.syntax]
    if parsed.syntax:
        return check_despite_syntax_errors(
            list(parsed.modules.values()), dict(parsed.sources), list(parsed.syntax)
        )
    try:
        checked = check_modules(list(parsed.modules.values()), dict(parsed.sources))
    except LexgateError as error:
        return list(error.diagnostics)
    return list(checked.warnings)


def _read(path: Path) -> tuple[str | None, Diagnostic | None]:
    """A policy file's text from disk, or the diagnostic `load_bundle` gives for it (placed at
    the file's start, so the editor shows it on that file)."""
    where = Span(str(path), 0, 0, 0, 0)
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            message = (
                f"`{path}` is {size:,} bytes; a policy file may hold at most {MAX_POLICY_BYTES:,}"
            )
            return None, Diagnostic("E0002", message, where, help="split it into files")
        return path.read_text(encoding="utf-8"), None
    except (OSError, UnicodeDecodeError) as error:
        return None, Diagnostic("E0002", f"cannot read `{path}`: {error}", where)


__all__ = ["Documents", "Parsed", "check", "find_bundle_root"]
