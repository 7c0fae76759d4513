"""The language server (`lexgate lsp`) over a real stdio subprocess, driven by pygls' client, on
a copy of the shipped packs: diagnostics as the lawyer types (an error at its exact range, then
gone when fixed; a change in policies/common breaking a regime file), hover, go to definition,
completion, the outline and formatting.

Expected answers are read from the packs' own text (the vocabulary's declarations, a rule's
header line), never written into the test, so a pack edit does not break it and a wrong answer
does. Every wait is on a condition, with a generous timeout; there is no sleep.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("pygls")

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0  # seconds; the first check of the packs in a cold process takes about 2
T = TypeVar("T")


class Session:
    """A started server, the diagnostics it published, and a loop to await requests on."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: LanguageClient, root: Path):
        self.loop = loop
        self.client = client
        self.root = root
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = defaultdict(list)
        self.arrived = asyncio.Condition()
        self.versions: dict[str, int] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, TIMEOUT))

    def uri(self, relative: str) -> str:
        uri = from_fs_path(str(self.root / relative))
        assert uri is not None
        return uri

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def open(self, relative: str) -> str:
        uri = self.uri(relative)
        if uri not in self.versions:
            self.versions[uri] = 1
            self.client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri, "lexgate", 1, self.text(relative))
                )
            )
            self.diagnostics(uri, version=1)
        return uri

    def change(self, uri: str, text: str) -> int:
        """Replace the whole document; returns its new version."""
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
        return self.versions[uri]

    def diagnostics(
        self,
        uri: str,
        version: int | None = None,
        where: Callable[[types.PublishDiagnosticsParams], bool] = lambda _: True,
    ) -> list[types.Diagnostic]:
        """The first diagnostics published for `uri` (at `version`, if given) that satisfy
        `where`, waiting for them."""

        def match() -> types.PublishDiagnosticsParams | None:
            for params in self.published[uri]:
                if (version is None or params.version == version) and where(params):
                    return params
            return None

        async def wait() -> types.PublishDiagnosticsParams:
            async with self.arrived:
                await self.arrived.wait_for(lambda: match() is not None)
            found = match()
            assert found is not None
            return found

        return list(self.run(wait()).diagnostics)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("lsp") / "policies"
    shutil.copytree(ROOT / "policies", root)
    loop = asyncio.new_event_loop()
    client = LanguageClient("lexgate-tests", "1")
    current = Session(loop, client, root)

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    async def published(params: types.PublishDiagnosticsParams) -> None:
        async with current.arrived:
            current.published[params.uri].append(params)
            current.arrived.notify_all()

    current.run(client.start_io(sys.executable, "-m", "lexgate.engine", "lsp"))
    current.run(
        client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=from_fs_path(str(root)),
            )
        )
    )
    client.initialized(types.InitializedParams())
    yield current
    current.run(client.shutdown_async(None))
    client.exit(None)
    current.run(client.stop())
    loop.close()


def _position(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> types.Position:
    """The position `offset` characters into the `occurrence`-th match of `needle` (none of the
    texts used has characters outside the BMP, so columns are UTF-16 units too)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    at = start + offset
    line = text.count("\n", 0, at)
    return types.Position(line, at - (text.rfind("\n", 0, at) + 1))


def _errors(diagnostics: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]


BREACH = "gdpr/breach.policy"


# ---- diagnostics ---------------------------------------------------------------------------------


def test_a_shipped_pack_file_opens_without_errors(session: Session) -> None:
    uri = session.open(BREACH)
    assert _errors(session.diagnostics(uri, version=1)) == []


def test_an_unknown_fact_is_shown_at_its_range_and_cleared_when_fixed(session: Session) -> None:
    uri = session.open(BREACH)
    original = session.text(BREACH)
    broken = original.replace("breach.risk is high", "breach.risky is high", 1)
    try:
        version = session.change(uri, broken)
        errors = _errors(session.diagnostics(uri, version=version))
        about = [e for e in errors if "`breach.risky`" in e.message]
        assert len(about) == 1, errors
        start = _position(broken, "breach.risky is high")
        end = types.Position(line=start.line, character=start.character + len("breach.risky"))
        assert about[0].range == types.Range(start=start, end=end)
        assert about[0].source == "lexgate" and about[0].code
        assert "help: did you mean `breach.risk`?" in about[0].message  # the help line travels
        # the rest are what follows from it (the member `high` has no enum to belong to)
        assert all(e.range.start.line == start.line for e in errors)
    finally:
        fixed = session.change(uri, original)
    assert _errors(session.diagnostics(uri, version=fixed)) == []


def test_a_syntax_error_and_a_type_error_elsewhere_are_both_shown(session: Session) -> None:
    uri = session.open(BREACH)
    original = session.text(BREACH)
    # a misspelt keyword in the first rule, a misspelt fact in a later one
    broken = original.replace("\n  duty ", "\n  duuty ", 1)
    broken = broken.replace("when breach.data_encrypted", "when breach.data_encryptd", 1)
    assert broken.count("duuty") == 1 and broken.count("data_encryptd") == 1
    try:
        version = session.change(uri, broken)
        errors = _errors(session.diagnostics(uri, version=version))
    finally:
        fixed = session.change(uri, original)
    lines = {e.range.start.line for e in errors}
    assert _position(broken, "\n  duuty ", offset=1).line in lines, errors
    unknown = _position(broken, "breach.data_encryptd")
    assert any(e.range.start == unknown and "breach.data_encryptd" in e.message for e in errors), (
        errors
    )
    assert _errors(session.diagnostics(uri, version=fixed)) == []


def _code_occurrences(text: str, name: str) -> set[tuple[int, int]]:
    """(line, column) of every use of a fact outside comments (not as a longer name's prefix)."""
    found = set()
    for number, line in enumerate(text.split("\n")):
        code = line.split("#", 1)[0]  # a `#` inside a string would hide uses: the test fails
        for match in re.finditer(rf"(?<![\w.]){re.escape(name)}(?![\w.])", code):
            found.add((number, match.start()))
    return found


def test_a_change_in_common_shows_errors_in_the_regime_files_that_use_it(session: Session) -> None:
    breach_uri = session.open(BREACH)
    vocabulary = "common/vocabulary.policy"
    uri = session.open(vocabulary)
    original = session.text(vocabulary)
    assert re.search(r"^fact breach\.risk:", original, re.MULTILINE)
    before = len(session.published[breach_uri])
    try:
        session.change(uri, original.replace("fact breach.risk:", "fact breach.peril:", 1))
        broken = session.diagnostics(
            breach_uri,
            where=lambda p: (
                session.published[breach_uri].index(p) >= before
                and bool(_errors(list(p.diagnostics)))
            ),
        )
    finally:
        after = len(session.published[breach_uri])  # nothing arrives while the loop is idle
        session.change(uri, original)
    reported = {
        (e.range.start.line, e.range.start.character)
        for e in _errors(broken)
        if "`breach.risk`" in e.message
    }
    assert reported == _code_occurrences(session.text(BREACH), "breach.risk")
    cleared = session.diagnostics(
        breach_uri,
        where=lambda p: (
            session.published[breach_uri].index(p) >= after and not _errors(list(p.diagnostics))
        ),
    )
    assert _errors(cleared) == []


def test_a_file_added_on_disk_is_checked_with_its_bundle(session: Session) -> None:
    session.open(BREACH)
    added = session.root / "gdpr" / "zz_added.policy"
    added_uri = session.uri("gdpr/zz_added.policy")
    # the same rule name as breach.policy's: the second declaration (this file) is the error
    added.write_text(
        'part of GDPR\n\nrule breach_notification "Twice" cite "Art. 33(1)"\n  when true\n',
        encoding="utf-8",
    )

    def changed(kind: types.FileChangeType) -> None:
        session.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=added_uri, type=kind)])
        )

    try:
        changed(types.FileChangeType.Created)
        errors = session.diagnostics(added_uri, where=lambda p: bool(_errors(list(p.diagnostics))))
        assert any("declared twice" in e.message for e in errors), errors
        assert _position(added.read_text(), "breach_notification").line in {
            e.range.start.line for e in errors
        }
    finally:
        count = len(session.published[added_uri])
        added.unlink()
        changed(types.FileChangeType.Deleted)
    cleared = session.diagnostics(
        added_uri,
        where=lambda p: session.published[added_uri].index(p) >= count and not p.diagnostics,
    )
    assert cleared == []


# ---- hover ---------------------------------------------------------------------------------------


def _hover(session: Session, uri: str, position: types.Position) -> str:
    result = session.run(
        session.client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri), position)
        )
    )
    assert result is not None
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


def _vocabulary_declaration(session: Session, fact: str) -> re.Match[str]:
    for file in sorted((session.root / "common").glob("*.policy")):
        found = re.search(
            rf'^fact {re.escape(fact)}: ([^"\n]+?)\s*"([^"]*)"', file.read_text(), re.MULTILINE
        )
        if found:
            return found
    raise AssertionError(f"{fact} is not declared in common/")


def test_hover_on_a_fact_shows_its_type_and_description(session: Session) -> None:
    uri = session.open(BREACH)
    text = session.text(BREACH)
    declared = _vocabulary_declaration(session, "breach.hours_to_authority")
    shown = _hover(session, uri, _position(text, "(breach.hours_to_authority", offset=8))
    assert f"`breach.hours_to_authority`: `{declared.group(1)}`" in shown
    assert declared.group(2) in shown


def test_hover_on_a_rule_shows_its_title_and_citation(session: Session) -> None:
    uri = session.open(BREACH)
    text = session.text(BREACH)
    header = re.search(r'^rule breach_communication "([^"]+)" cite "([^"]+)"', text, re.MULTILINE)
    assert header is not None
    # the rule named where an exception overrides it
    shown = _hover(session, uri, _position(text, "to breach_communication", offset=5))
    assert "**rule** `breach_communication`" in shown
    assert header.group(1) in shown and f"cite: {header.group(2)}" in shown


def test_hover_on_a_parameter_shows_its_dated_values(session: Session) -> None:
    relative = "ccpa/penalties.policy"
    uri = session.open(relative)
    text = session.text(relative)
    declaration = text[text.index("parameter penalty_per_violation:") :].split("\n\n")[0]
    dated = re.findall(
        r"from (\d{4}-\d{2}-\d{2})(?: until (\d{4}-\d{2}-\d{2}))? = ([^\n]+?)(?: cite|$)",
        declaration,
        re.MULTILINE,
    )
    assert len(dated) >= 2
    use = text.index("penalty_per_violation", text.index("parameter penalty_per_violation") + 30)
    line = text.count("\n", 0, use)
    shown = _hover(session, uri, types.Position(line, use - text.rfind("\n", 0, use) - 1 + 3))
    assert "**parameter** `penalty_per_violation`: `money`" in shown
    for start, end, value in dated:
        period = f"from {start}" + (f" until {end}" if end else "")
        assert f"| {period} | `{value.strip()}` |" in shown, (period, shown)


# ---- definition ----------------------------------------------------------------------------------


def _definition(session: Session, uri: str, position: types.Position) -> list[types.Location]:
    result = session.run(
        session.client.text_document_definition_async(
            types.DefinitionParams(types.TextDocumentIdentifier(uri), position)
        )
    )
    assert isinstance(result, list)
    return [location for location in result if isinstance(location, types.Location)]


def _declared_at(session: Session, relative: str, pattern: str, name: str) -> types.Location:
    text = session.text(relative)
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, pattern
    at = found.start() + found.group(0).index(name)
    line = text.count("\n", 0, at)
    column = at - (text.rfind("\n", 0, at) + 1)
    start = types.Position(line, column)
    return types.Location(
        session.uri(relative), types.Range(start, types.Position(line, column + len(name)))
    )


@pytest.mark.parametrize(
    ("needle", "offset", "relative", "pattern", "name"),
    [
        # a rule, from the exception that overrides it
        (
            "to breach_communication",
            4,
            BREACH,
            r"^rule breach_communication\b",
            "breach_communication",
        ),
        # a fine, from a rule's `fine` clause
        ("fine lower", 6, "gdpr/fines.policy", r"^fine lower\b", "lower"),
        # a fact, declared in the shared vocabulary
        (
            "breach.data_encrypted",
            3,
            "common/vocabulary.policy",
            r"^fact breach\.data_encrypted\b",
            "breach.data_encrypted",
        ),
    ],
)
def test_go_to_definition(
    session: Session, needle: str, offset: int, relative: str, pattern: str, name: str
) -> None:
    uri = session.open(BREACH)
    text = session.text(BREACH)
    expected = _declared_at(session, relative, pattern, name)
    assert expected in _definition(session, uri, _position(text, needle, offset=offset))


def test_go_to_definition_of_a_parameter_and_a_definition(session: Session) -> None:
    relative = "ccpa/penalties.policy"
    uri = session.open(relative)
    text = session.text(relative)
    use = re.search(r"if (\w+) then penalty_per_intentional_violation", text)
    assert use is not None
    define = use.group(1)
    position = _position(text, use.group(0), offset=4)
    targets = _definition(session, uri, position)
    assert len(targets) == 1
    assert targets[0].uri.startswith(session.uri("ccpa"))
    target_text = Path(targets[0].uri.removeprefix("file://")).read_text()
    line = target_text.split("\n")[targets[0].range.start.line]
    assert re.match(rf"define {define}\b", line), line
    parameter = _definition(
        session, uri, _position(text, use.group(0), offset=len(use.group(0)) - 3)
    )
    assert parameter == [
        _declared_at(
            session,
            relative,
            r"^parameter penalty_per_intentional_violation\b",
            "penalty_per_intentional_violation",
        )
    ]


def test_go_to_definition_of_a_member_picks_the_enum_of_the_fact_compared(
    session: Session,
) -> None:
    uri = session.open(BREACH)
    text = session.text(BREACH)
    risk_type = _vocabulary_declaration(session, "breach.risk").group(1)
    vocabulary = "common/vocabulary.policy"
    declared = session.text(vocabulary)
    enum = re.search(rf"^enum {risk_type}\b.*$", declared, re.MULTILINE)
    assert enum is not None, "the enum of breach.risk is declared in common/vocabulary.policy"
    targets = _definition(session, uri, _position(text, "breach.risk is high", offset=16))
    line = declared.count("\n", 0, enum.start())
    column = enum.group(0).rindex("high")  # the member, on the enum's line
    assert targets == [
        types.Location(
            uri=session.uri(vocabulary),
            range=types.Range(
                start=types.Position(line=line, character=column),
                end=types.Position(line=line, character=column + len("high")),
            ),
        )
    ]


# ---- completion ----------------------------------------------------------------------------------


def _complete(session: Session, uri: str, text: str, typed: str) -> set[str]:
    """Append `typed` as a new last line of the document and complete at its end."""
    edited = text.rstrip("\n") + "\n" + typed
    session.change(uri, edited)
    lines = edited.split("\n")
    result = session.run(
        session.client.text_document_completion_async(
            types.CompletionParams(
                types.TextDocumentIdentifier(uri), types.Position(len(lines) - 1, len(lines[-1]))
            )
        )
    )
    assert isinstance(result, types.CompletionList)
    return {item.label for item in result.items}


def test_completion_of_fact_paths_enum_members_and_rule_names(session: Session) -> None:
    uri = session.open(BREACH)
    text = session.text(BREACH)
    vocabulary = "\n".join(
        p.read_text() for p in sorted((session.root / "common").glob("*.policy"))
    )
    breach_facts = set(re.findall(r"^fact (breach\.[\w.]+):", vocabulary, re.MULTILINE))
    assert breach_facts
    offered = _complete(session, uri, text, 'example "x"\n  given breach.')
    assert breach_facts <= offered

    risk_type = _vocabulary_declaration(session, "breach.risk").group(1)
    members = re.search(rf"^enum {risk_type}\b[^=]*=\s*([\w\s|]+)$", vocabulary, re.MULTILINE)
    assert members is not None
    expected = {m.strip() for m in members.group(1).split("|")}
    assert _complete(session, uri, text, 'example "x"\n  given breach.risk = ') == expected

    rules = set(re.findall(r"^(?:rule|exception) (\w+)", text, re.MULTILINE))
    offered = _complete(session, uri, text, "exception my_exception to ")
    assert rules <= offered
    assert not breach_facts & offered  # rule names only
    # an example's expectations, going on over a line that starts with `violation`
    continued = _complete(session, uri, text, 'example "x"\n  expect denied,\n    violation ')
    assert continued == offered
    session.change(uri, text)


# ---- symbols and formatting ----------------------------------------------------------------------


def test_document_symbols_list_the_declarations_in_order(session: Session) -> None:
    uri = session.open(BREACH)
    text = session.text(BREACH)
    result = session.run(
        session.client.text_document_document_symbol_async(
            types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
        )
    )
    assert result is not None
    names = [s.name for s in result if isinstance(s, types.DocumentSymbol)]
    declared = re.findall(r'^(?:rule|exception|example) (?:"([^"]+)"|(\w+))', text, re.MULTILINE)
    assert names == [quoted or bare for quoted, bare in declared]
    for symbol in result:
        assert isinstance(symbol, types.DocumentSymbol)
        assert symbol.range.start <= symbol.selection_range.start
        assert symbol.selection_range.end <= symbol.range.end


def test_formatting_gives_the_formatters_text(session: Session) -> None:
    formatter = pytest.importorskip("lexgate.engine.formatter")
    uri = session.open(BREACH)
    text = session.text(BREACH)
    messy = text.replace("\n  when ", "\n      when ", 1)
    session.change(uri, messy)
    edits = session.run(
        session.client.text_document_formatting_async(
            types.DocumentFormattingParams(
                types.TextDocumentIdentifier(uri), types.FormattingOptions(2, True)
            )
        )
    )
    expected = formatter.format_source(messy, str(session.root / BREACH))
    assert expected != messy  # the formatter puts the clause back at its indentation
    assert edits is not None and len(edits) == 1
    lines = messy.split("\n")
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(lines) - 1, character=len(lines[-1])),
    )
    assert edits[0].range == whole
    assert edits[0].new_text == expected

    session.change(uri, text.replace("\n  when ", "\n  wen ", 1))  # a syntax error
    broken = session.run(
        session.client.text_document_formatting_async(
            types.DocumentFormattingParams(
                types.TextDocumentIdentifier(uri), types.FormattingOptions(2, True)
            )
        )
    )
    assert not broken  # left as it is: the diagnostics say what is wrong
    session.change(uri, text)


# ---- the pure parts ------------------------------------------------------------------------------


def test_columns_are_counted_in_utf16_units_for_the_client() -> None:
    from lexgate.engine.diagnostics import Span
    from lexgate.engine.lsp.ranges import span_range
    from pygls.workspace.position_codec import PositionCodec

    # one code point outside the BMP (two UTF-16 units) before the span, one CJK (one unit)
    line = 'rule r "数据 😀" cite x'
    column = line.index("cite") + 1
    span = Span("f.policy", 1, column, 1, column + 4)
    found = span_range(span, [line], PositionCodec())  # LSP's default encoding: UTF-16
    expected = len(line[: column - 1].encode("utf-16-le")) // 2
    assert found.start == types.Position(line=0, character=expected)
    assert found.end.character - found.start.character == 4
    assert expected == column - 1 + 1  # the emoji counts twice


def test_a_name_is_found_under_the_cursor_but_not_in_strings_or_comments() -> None:
    from lexgate.engine.lsp.index import word_at

    line = '  when transfers[0].mechanism is none  # breach.risk "x"'
    assert word_at(line, line.index("mechanism")) == (
        "transfers[0].mechanism",
        line.index("transfers"),
        line.index(" is"),
    )
    assert word_at(line, line.index("breach.risk")) is None
    assert word_at('rule r "breach.risk"', 12) is None


def test_the_bundle_of_a_file_is_the_folder_holding_common(tmp_path: Path) -> None:
    from lexgate.engine.lsp.documents import find_bundle_root

    (tmp_path / "policies" / "common").mkdir(parents=True)
    (tmp_path / "policies" / "gdpr").mkdir()
    root = tmp_path / "policies"
    assert find_bundle_root(root / "gdpr" / "a.policy") == root
    assert find_bundle_root(root / "common" / "b.policy") == root
    assert find_bundle_root(tmp_path / "alone.policy") != root  # checked on its own


def test_the_engine_and_its_command_line_load_without_pygls() -> None:
    import subprocess

    code = (
        "import sys, lexgate.engine, lexgate.engine.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
