"""The layout of each grammar rule that needs more than its words joined by spaces.

A layout takes the formatter (for tokens, comments and the shared shapes: heads, chains,
collections) and a parse-tree node, and returns a document (engine/fmt/doc.py). A new construct
of the grammar is printed plainly until it gets an entry in `LAYOUTS`: a declaration or clause
whose words should fill a line and continue two columns in needs one line here,
`"retention_decl": parts_layout("of", "keep", flatten=("retention_keep",))`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lark import Token, Tree

from .doc import HARD_LINE, INDENT, LINE, Align, Doc, Fill, Group, Nest, concat

if TYPE_CHECKING:
    from ..formatter import Formatter

Layout = Callable[["Formatter", Tree[Token]], Doc]


def _keyword_expression(f: Formatter, node: Tree[Token]) -> Doc:
    """`when EXPR`, `violation unless EXPR`, `applies when EXPR [cite]`, `met when …`."""
    words: list[Doc] = []
    rest: list[Any] = []
    for child in node.children:
        if isinstance(child, Token) and not rest and child.type not in ("NAME",):
            words.append(f.tok(child))
        elif child is not None:
            rest.append(child)
    expression, *others = rest
    cite = others[0] if others else None
    body = concat([*(concat([w, " "]) for w in words), f.node(expression)])
    return f.with_cite(body, cite)


def _chunks(f: Formatter, node: Tree[Token], breaks: tuple[str, ...]) -> list[Doc]:
    """Split a head into chunks: a new chunk at each keyword of `breaks` (`STRING`: at a text in
    quotes) and at each sub-rule named cite, deadline or payer; words inside a chunk are joined
    by spaces."""
    chunks: list[list[Any]] = [[]]
    for child in node.children:
        if child is None:
            continue
        starts = (isinstance(child, Token) and (str(child) in breaks or child.type in breaks)) or (
            isinstance(child, Tree) and child.data in ("cite", "deadline", "payer")
        )
        if starts and chunks[-1]:
            chunks.append([])
        chunks[-1].append(child)
    return [f.words(chunk) for chunk in chunks]


def head_layout(*breaks: str) -> Layout:
    def layout(f: Formatter, node: Tree[Token]) -> Doc:
        return f.head(*_chunks(f, node, breaks))

    return layout


def parts_layout(*breaks: str, flatten: tuple[str, ...] = ()) -> Layout:
    """A declaration of several parts: all on one line, or each part on a line of its own, two
    columns in. A part starts at each keyword of `breaks` and at a cite; the sub-rules named in
    `flatten` are read as if their words stood in the declaration itself."""

    def layout(f: Formatter, node: Tree[Token]) -> Doc:
        children: list[Any] = []
        for child in node.children:
            if isinstance(child, Tree) and child.data in flatten:
                children.extend(child.children)
            else:
                children.append(child)
        first, *rest = _chunks(f, Tree(node.data, children), breaks)
        return Group(concat([first, *(Nest(INDENT, concat([LINE, part])) for part in rest)]))

    return layout


def _regime_head(f: Formatter, node: Tree[Token]) -> Doc:
    in_force = next(
        (c for c in node.children if isinstance(c, Tree) and c.data == "in_force"), None
    )
    rest = Tree(node.data, [c for c in node.children if c is not in_force])
    head = f.head(*_chunks(f, rest, ("STRING",)))
    if in_force is None:
        return head
    return concat([head, Nest(INDENT, concat([HARD_LINE, f.node(in_force)]))])


def _enum(f: Formatter, node: Tree[Token]) -> Doc:
    children = [c for c in node.children if c is not None]
    equals = next(i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "=")
    members: list[Doc] = []
    lead = f.tok(children[equals])
    for child in children[equals + 1 :]:
        if isinstance(child, Token) and str(child) == "|":
            lead = f.tok(child)
            continue
        if members:
            members.append(LINE)
        members.append(concat([lead, " ", f.node(child)]))
    return Group(
        concat([f.words(children[:equals]), Nest(INDENT, concat([LINE, Fill(tuple(members))]))])
    )


def _define(f: Formatter, node: Tree[Token]) -> Doc:
    """`define NAME[: T] = VALUE [cite]` (and `derive PATH = VALUE if COND [cite]`)."""
    children = [c for c in node.children if c is not None]
    cite = (
        children.pop() if isinstance(children[-1], Tree) and children[-1].data == "cite" else None
    )
    equals = next(i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "=")
    lead = concat([f.words(children[:equals]), " ", f.tok(children[equals])])
    value = children[equals + 1]
    body = f.value_after(lead, value)
    if len(children) > equals + 2:  # derive: `if CONDITION`
        if_, condition = children[equals + 2 :]
        condition_doc = concat([f.tok(if_), " ", f.node(condition)])
        body = Group(concat([body, Nest(INDENT, concat([LINE, condition_doc]))]))
    return f.with_cite(body, cite)


def _dated(f: Formatter, node: Tree[Token]) -> Doc:
    """`from DATE [until DATE] [= VALUE [cite]]`: the value hugs its `=`."""
    children = [c for c in node.children if c is not None]
    cite = (
        children.pop() if isinstance(children[-1], Tree) and children[-1].data == "cite" else None
    )
    equals = next(
        (i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "="), None
    )
    if equals is None:
        return f.with_cite(f.words(children), cite)
    lead = concat([f.words(children[:equals]), " ", f.tok(children[equals]), " "])
    return f.with_cite(concat([lead, f.node(children[equals + 1])]), cite)


def _fine(f: Formatter, node: Tree[Token]) -> Doc:
    """`fine NAME "title" = FORMULA [payable by …] [cite]`: one line, or one part a line."""
    children = [c for c in node.children if c is not None]
    equals = next(i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "=")
    parts: list[Doc] = [f.words(children[:equals])]
    formula = concat([f.tok(children[equals]), " ", f.node(children[equals + 1])])
    for part in [formula, *(f.node(c) for c in children[equals + 2 :])]:
        parts.append(Nest(INDENT, concat([LINE, part])))
    return Group(concat(parts))


def _fine_between(f: Formatter, node: Tree[Token]) -> Doc:
    between, low, and_, high = node.children
    return concat(
        [
            f.tok(between),
            " ",
            Group(Align(concat([f.node(low), LINE, f.tok(and_), " ", f.node(high)]))),
        ]
    )


def _listing(keywords: int) -> Layout:
    """`KEYWORD… item, item, …`: the items fill their lines, aligned after the keywords."""

    def layout(f: Formatter, node: Tree[Token]) -> Doc:
        children = [c for c in node.children if c is not None]
        lead = f.words(children[:keywords])
        return concat([lead, " ", Align(Fill(tuple(f.separated(children[keywords:]))))])

    return layout


def _levels(f: Formatter, node: Tree[Token]) -> Doc:
    """`organisation facts a, b.*, …`: patterns fill their lines, continuing two columns in."""
    children = [c for c in node.children if c is not None]
    patterns = f.separated(children[2:])
    body = [Nest(INDENT, p) for p in patterns]
    return concat([f.words(children[:2]), " ", Fill(tuple(body))])


def _topic(f: Formatter, node: Tree[Token]) -> Doc:
    children = [c for c in node.children if c is not None]
    cite = (
        children.pop() if isinstance(children[-1], Tree) and children[-1].data == "cite" else None
    )
    described = next(
        i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "described"
    )
    names = concat(
        [f.words(children[described : described + 2]), " ", *f.separated(children[described + 2 :])]
    )
    chunks = [*_chunks(f, Tree(node.data, children[:described]), ("STRING",)), names]
    if cite is not None:
        chunks.append(f.node(cite))
    return f.head(*chunks)


def _quantifier(f: Formatter, node: Tree[Token]) -> Doc:
    """`any t in transfers where COND`: when long, the condition on the next line, two columns
    deeper than the line the loop starts on."""
    children = [c for c in node.children if c is not None]
    where = next(i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "where")
    lead = f.words(children[: where + 1])
    condition = f.node(children[where + 1])
    return Group(concat([lead, Nest(INDENT, concat([LINE, condition]))]))


def _sum_over(f: Formatter, node: Tree[Token]) -> Doc:
    children = [c for c in node.children if c is not None]
    where = next(
        (i for i, c in enumerate(children) if isinstance(c, Token) and str(c) == "where"), None
    )
    if where is None:
        return f.words(children)
    condition = f.words(children[where:])
    return Group(concat([f.words(children[:where]), Nest(INDENT, concat([LINE, condition]))]))


def _call(f: Formatter, node: Tree[Token]) -> Doc:
    """`max(a, b)`: the arguments aligned after the bracket when they do not fit."""
    name, opening, *args, closing = [c for c in node.children if c is not None]
    body = Align(Fill(tuple(f.separated(args))))
    return Group(concat([f.node(name), f.tok(opening), body, f.tok(closing)]))


def _parenthesised(f: Formatter, node: Tree[Token]) -> Doc:
    """`(EXPR)`: what breaks inside is aligned after the bracket."""
    opening, expression, closing = node.children
    return concat([f.tok(opening), Align(f.node(expression)), f.tok(closing)])


def _entry(f: Formatter, node: Tree[Token]) -> Doc:
    key, colon, value = node.children
    return concat([f.node(key), f.tok(colon), " ", f.node(value)])


def _negate(f: Formatter, node: Tree[Token]) -> Doc:
    minus, operand = node.children
    return concat([f.tok(minus), f.node(operand)])


def _chain(f: Formatter, node: Tree[Token]) -> Doc:
    return f.chain(node)


def _if(f: Formatter, node: Tree[Token]) -> Doc:
    return f.if_chain(node)


def _collection(f: Formatter, node: Tree[Token]) -> Doc:
    return f.collection(node)


LAYOUTS: dict[str, Layout] = {
    # declarations
    "regime_head": _regime_head,
    "enum_decl": _enum,
    "record_head": head_layout("STRING"),
    "define_decl": _define,
    "derive_decl": _define,
    "parameter_head": head_layout("STRING"),
    "rate_head": head_layout(),
    "fine_decl": _fine,
    "rule_head": head_layout("STRING"),
    "exception_head": head_layout("STRING"),
    "topic_decl": _topic,
    "organisation_facts": _levels,
    "retention_decl": parts_layout("of", "keep", flatten=("retention_keep",)),
    "controllable_facts": _levels,
    # clauses
    "aggregate_clause": head_layout(),
    "applies_clause": _keyword_expression,
    "when_clause": _keyword_expression,
    "violation_when": _keyword_expression,
    "violation_unless": _keyword_expression,
    "obligation_clause": head_layout("if"),
    "duty_clause": head_layout("met"),
    "dated": _dated,
    "fine_ref": _listing(1),
    "given_clause": _listing(1),
    "expect_clause": _listing(1),
    "fine_between": _fine_between,
    # expressions
    "or_op": _chain,
    "and_op": _chain,
    "if_then_else": _if,
    "quantifier": _quantifier,
    "sum_over": _sum_over,
    "call": _call,
    "entry": _entry,
    "atom": _parenthesised,
    "negate": _negate,
    "set_literal": _collection,
    "list_literal": _collection,
    "map_literal": _collection,
}
