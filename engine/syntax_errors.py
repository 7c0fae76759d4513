"""Syntax-error messages a lawyer can act on.

Lark reports the parser state (the terminals it would have accepted) and the offending token;
this module turns that into one lowercase sentence plus a `help:` line. Every entry is exercised
by `tests/engine/error_corpus.yaml`.
"""

from __future__ import annotations

import difflib
import re

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

# friendly names of terminals, in the order they are listed in `help:` lines
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": 'text in double quotes ("…")',
    "DATE": "a date such as `2018-05-25`",
    "NUMBER": "a number",
    "CURRENCY": "a currency code such as `EUR`",
    "REGIME_NAME": "a regime name such as `GDPR`",
    "CODE": "a country code such as `DE`",
    "PERCENT": "a percentage such as `4%`",
    "EQUAL": "`=`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "RPAR": "`)`",
    "RBRACE": "`}`",
    "RSQB": "`]`",
    "WHEN": "`when`",
    "UNLESS": "`unless`",
    "OF": "`of`",
    "TO": "`to`",
    "AND": "`and`",
    "THEN": "`then`",
    "ELSE": "`else`",
    "WHERE": "`where`",
    "IN": "`in`",
    "UP": "`up to`",
    "BETWEEN": "`between`",
    "EXACTLY": "`exactly`",
    "FROM": "`from`",
    "UNIT": "a unit such as `hours`, `days`, `months` or `years`",
}
_DECLARATION_TERMINALS = {
    "REGIME",
    "PART",
    "ENUM",
    "RECORD",
    "FACT",
    "DEFINE",
    "PARAMETER",
    "RATE",
    "FINE",
    "RULE",
    "EXCEPTION",
    "EXAMPLE",
}
_EXPRESSION_TERMINALS = {"NAME", "NUMBER", "CURRENCY", "PERCENT", "DATE", "CODE", "LPAR", "LBRACE"}


def describe_expected(expected: set[str]) -> str | None:
    if not expected:
        return None
    if expected >= _EXPRESSION_TERMINALS:
        return "expected a value here: a fact, a number, an amount such as `EUR 20 million`, …"
    if expected >= _DECLARATION_TERMINALS and len(expected - _DECLARATION_TERMINALS) > 6:
        return "expected a new declaration (`rule`, `fine`, `parameter`, `example`, …) or a clause"
    words = [_TERMINAL_WORDS[t] for t in _TERMINAL_WORDS if t in expected]
    if not words:
        plain = sorted(t.lower() for t in expected if t.isalpha() and t != "$END")
        words = [f"`{w}`" for w in plain[:6]]
    if not words:
        return None
    return "expected " + (
        words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    )


def friendly_message(
    error: UnexpectedInput, text: str, token_text: str | None, expected: set[str]
) -> tuple[str, str | None]:
    """(message, help) for a parse error; help None means: describe what was expected."""
    if isinstance(error, UnexpectedEOF) or (
        getattr(getattr(error, "token", None), "type", None) == "$END"
    ):
        return (
            "the file ends in the middle of a declaration",
            describe_expected(expected) or "complete the last declaration",
        )
    if isinstance(error, UnexpectedCharacters):
        char = token_text or "?"
        if char == '"':
            return (
                "text in quotes is not closed on this line",
                'add the closing `"`; text in quotes cannot span lines',
            )
        if char in "&|":
            return (f"unexpected character `{char}`", "write `and` / `or` in words")
        if char == "'":
            return ("unexpected character `'`", 'text is written in double quotes: "…"')
        if char.isupper():
            return (
                "unexpected capital letters",
                "names are lowercase (`eea`, `legal_basis`); capitals are for regime names, "
                "currency codes (`EUR`) and country codes (`DE`, `US-CA`)",
            )
        return (f"unexpected character `{char}`", None)
    token = getattr(error, "token", None)
    kind = getattr(token, "type", "")
    shown = f"`{token_text}`" if token_text else "this"
    position = getattr(token, "start_pos", None)
    if position is not None and re.search(r"\b(any|all|count|sum|if)\s*$", text[:position]):
        word = re.search(r"\b(any|all|count|sum|if)\s*$", text[:position]).group(1)  # type: ignore[union-attr]
        return (
            f"`{word}` cannot start a condition inside `and` / `or` / `not`",
            f"put it in brackets: `… or ({word} …)`",
        )
    if kind in ("REGIME_NAME", "CURRENCY", "CODE") and token_text and not token_text.isupper():
        return (
            "unexpected capital letters",
            "names are lowercase (`eea`, `legal_basis`); capitals are for regime names, "
            "currency codes (`EUR`) and country codes (`DE`, `US-CA`)",
        )
    if kind == "CURRENCY" and "NUMBER" not in expected:
        return (
            f"`{token_text}` looks like a currency code here",
            "named sets and definitions are lowercase, e.g. `eea`; an amount is written "
            "`EUR 20 million`",
        )
    if kind == "EQUAL" and token_text == "=" and "EQUAL" not in expected:
        return ("unexpected `=`", "compare with a single `=` or the word `is`")
    if kind == "STRING" and "STRING" not in expected:
        return (
            f"unexpected text {shown}",
            'a title goes right after the name: `rule NAME "title"`',
        )
    if kind == "NAME" and "NAME" not in expected and expected >= _DECLARATION_TERMINALS:
        return (
            f"unexpected name {shown}",
            "a new declaration starts with a keyword such as `rule`, `fine` or `fact`; "
            "a condition continues with `and` / `or`",
        )
    return (f"unexpected {shown}", None)


def misspelt_keyword(word: str | None, expected: set[str], keywords: frozenset[str]) -> str | None:
    """The keyword a word that may not stand here is a misspelling of (`violaton`,
    `exeption`): first among the keywords the parser expected, then among all of them."""
    if not word or not word.isidentifier() or word in keywords:
        return None
    wanted = sorted(keywords & {t.lower() for t in expected})
    for candidates in (wanted, sorted(keywords)):
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75)
        if close:
            return close[0]
    return None
