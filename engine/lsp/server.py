"""The language server: pygls wiring only; each feature is a function of its own module.

Diagnostics are published on open, change, save and close, for the whole bundle the document
belongs to: a change to a fact in policies/common may break a rule in policies/gdpr, and the
editor's problem list shows both. A file whose problems are gone gets an empty list, so nothing
stale stays. Requests (hover, definition, completion, symbols) read the bundle as parsed with
every open document's current text; parses are cached per file text, so a request after a
keystroke re-parses one file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from .completion import completions
from .definition import definitions
from .diagnostics import by_file
from .documents import Documents, Parsed, check, find_bundle_root
from .formatting import FormatterUnavailable, format_edits
from .hover import hover_markdown
from .ranges import client_column, span_range
from .symbols import document_symbols

log = logging.getLogger(__name__)

# what a completion may follow: a dot in a fact path, a space after `to`, `is`, `fine`, …
_TRIGGERS = [".", " ", "{", ","]
# A burst of keystrokes is checked once, when the typing pauses this long (seconds): checking
# the shipped packs takes 0.1-0.3 s, and a check per keystroke would queue up behind the typist.
CHANGE_DELAY = 0.15


class LexgateServer(LanguageServer):
    """pygls' server with lexgate's parse cache and the diagnostics it has published."""

    def __init__(self) -> None:
        try:
            release = version("lexgate")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree
            release = "0"
        super().__init__("lexgate", release)
        self.documents = Documents()
        # bundle root (or lone file) -> the files it has diagnostics published for
        self.published: dict[str, set[str]] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}  # uri -> its delayed check

    def parse(self, path: Path) -> Parsed:
        """The bundle of `path`, with every open document's text in place of the disk's."""
        overlays = {}
        for uri, document in self.workspace.text_documents.items():
            name = _path(uri)
            if name is not None:
                overlays[str(name)] = document.source
        return self.documents.parse(path, overlays)

    def refresh_soon(self, uri: str, document_version: int) -> None:
        """Check after `CHANGE_DELAY`, unless another change to the document comes first."""
        self._cancel(uri)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - pygls runs handlers in its loop
            self.refresh(uri, document_version)
            return
        self._pending[uri] = loop.call_later(CHANGE_DELAY, self.refresh, uri, document_version)

    def _cancel(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()

    def refresh(self, uri: str, document_version: int | None) -> None:
        """Check the bundle of `uri` and publish every file's diagnostics."""
        self._cancel(uri)
        path = _path(uri)
        if path is None:
            return  # an unsaved, untitled document: no bundle to check it in
        try:
            parsed = self.parse(path)
            grouped = by_file(check(parsed), parsed.sources, str(path), self.position_codec)
        except Exception:  # never let a checker bug take the editor's server down
            log.exception("checking %s failed", path)
            return
        key = str(parsed.root or path)
        previous = self.published.get(key, set())
        for file in sorted(set(grouped) | previous | {str(path)}):
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri if file == str(path) else from_fs_path(file) or file,
                    diagnostics=grouped.get(file, []),
                    version=document_version if file == str(path) else None,
                )
            )
        self.published[key] = set(grouped)

    @property
    def position_codec(self) -> PositionCodec:
        """Columns in the encoding the client and pygls agreed on (UTF-16 by default)."""
        return self.workspace.position_codec


def _path(uri: str) -> Path | None:
    """A document's file path (absolute, links not resolved: the editor's own name for it)."""
    name = to_fs_path(uri)
    return Path(os.path.abspath(name)) if name else None


def create_server() -> LexgateServer:
    server = LexgateServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LexgateServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LexgateServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.refresh_soon(params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LexgateServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri, None)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LexgateServer, params: types.DidCloseTextDocumentParams) -> None:
        # the text on disk counts again for the rest of the bundle
        ls.refresh(params.text_document.uri, None)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: LexgateServer, params: types.DidChangeWatchedFilesParams) -> None:
        # a policy file created, deleted or rewritten on disk (a pull, a checkout): check the
        # bundle of each open document again, once per bundle
        checked: set[str] = set()
        for uri, document in list(ls.workspace.text_documents.items()):
            path = _path(uri)
            bundle = find_bundle_root(path) if path is not None else None
            key = str(bundle or path)
            if key not in checked:
                checked.add(key)
                ls.refresh(uri, document.version)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: LexgateServer, params: types.HoverParams) -> types.Hover | None:
        located = _locate(ls, params.text_document.uri, params.position)
        if located is None:
            return None
        parsed, path, lines = located
        column = client_column(lines, params.position, ls.position_codec)
        found = hover_markdown(parsed, path, params.position.line, column)
        if found is None:
            return None
        markdown, start, end = found
        codec = ls.position_codec
        line = params.position.line
        return types.Hover(
            contents=types.MarkupContent(types.MarkupKind.Markdown, markdown),
            range=types.Range(
                codec.position_to_client_units(lines, ServerTextPosition(line, start)),
                codec.position_to_client_units(lines, ServerTextPosition(line, end)),
            ),
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: LexgateServer, params: types.DefinitionParams) -> list[types.Location]:
        located = _locate(ls, params.text_document.uri, params.position)
        if located is None:
            return []
        parsed, path, lines = located
        column = client_column(lines, params.position, ls.position_codec)
        return [
            types.Location(
                uri=from_fs_path(span.file) or span.file,
                range=span_range(
                    span, parsed.sources.get(span.file, "").split("\n"), ls.position_codec
                ),
            )
            for span in definitions(parsed, path, params.position.line, column)
        ]

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=_TRIGGERS)
    )
    def completion(ls: LexgateServer, params: types.CompletionParams) -> types.CompletionList:
        located = _locate(ls, params.text_document.uri, params.position)
        if located is None:
            return types.CompletionList(is_incomplete=False, items=[])
        parsed, path, lines = located
        column = client_column(lines, params.position, ls.position_codec)
        items = completions(parsed, path, params.position.line, column, ls.position_codec)
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(
        ls: LexgateServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        path = _path(params.text_document.uri)
        if path is None:
            return []
        parsed = ls.parse(path)
        module = parsed.modules.get(str(path))
        if module is None:
            return []
        return document_symbols(module, parsed.sources[str(path)], ls.position_codec)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: LexgateServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        try:
            return format_edits(document.source, document.path, ls.position_codec)
        except FormatterUnavailable as error:
            ls.window_show_message(
                types.ShowMessageParams(
                    types.MessageType.Warning, f"lexgate: formatting is unavailable ({error})"
                )
            )
            return None

    return server


def _locate(
    ls: LexgateServer, uri: str, position: types.Position
) -> tuple[Parsed, str, list[str]] | None:
    """(the bundle, the document's path, its lines) for a request on `uri`."""
    path = _path(uri)
    if path is None:
        return None
    parsed = ls.parse(path)
    text = parsed.sources.get(str(path))
    if text is None:
        return None
    return parsed, str(path), text.split("\n")


def serve() -> None:
    """Run the server over stdin and stdout until the editor shuts it down."""
    create_server().start_io()


__all__ = ["LexgateServer", "create_server", "serve"]
