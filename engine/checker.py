"""Stage 2: parsed modules -> checked bundle (`engine.ir.CheckedBundle`).

Collects every error of the bundle in one run: names resolved with "did you mean", types with
units checked (`exprcheck.py`), declarations validated (citations present, dated values ordered,
exceptions pointing at real rules, no definition cycles). Either the whole bundle checks and a
`CheckedBundle` comes out, or `PolicyError` carries every diagnostic: never a half-loaded bundle.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Iterable

from . import ast, checkexamples, checkretention, checkrules, ir
from .diagnostics import Diagnostic, PolicyError, Severity, Span, did_you_mean
from .exprcheck import ExprChecker, Scope
from .fold import fold_bundle
from .reads import defines_read, facts_read
from .types import (
    BUILTIN_TYPES,
    CODE,
    ERROR,
    NUMBER,
    UNITS,
    EnumType,
    ListType,
    MapType,
    MoneyType,
    RecordType,
    SetType,
    Type,
)

COMMON = ""  # scope name of the bundle-wide files (policies/common)
AGGREGATIONS = {a.value for a in ast.Aggregation}
from .checkexamples import DEFAULT_PAYER  # noqa: E402 - one definition


class Checker:
    def __init__(self, modules: list[ast.Module], sources: dict[str, str]):
        self.modules = modules
        self.sources = sources
        self.diagnostics: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.exprs = ExprChecker(self.diagnostics)
        self.enums: dict[str, EnumType] = {}
        self.records: dict[str, RecordType] = {}
        self.facts: dict[str, ir.FactInfo] = {}
        self.descriptions: dict[str, str | None] = {}
        # scope -> name -> declaration
        self.defines: dict[str, dict[str, ast.DefineDecl]] = defaultdict(dict)
        self.parameters: dict[str, dict[str, ast.ParameterDecl]] = defaultdict(dict)
        self.parameter_types: dict[str, dict[str, Type]] = defaultdict(dict)
        self.fines: dict[str, dict[str, ast.FineDecl]] = defaultdict(dict)
        self.rules: dict[str, dict[str, ast.RuleDecl]] = defaultdict(dict)
        self.examples: dict[str, list[ast.ExampleDecl]] = defaultdict(list)
        self.rates: dict[str, ast.RateDecl] = {}
        self.topics: dict[str, dict[str, ast.TopicDecl]] = defaultdict(dict)
        self.derivations: list[ast.DeriveDecl] = []
        self.levels: list[ast.LevelDecl] = []
        self.retention: list[tuple[ast.RetentionDecl, str | None]] = []
        self.headers: dict[str, ast.RegimeDecl] = {}
        self.regime_files: dict[str, list[str]] = defaultdict(list)
        self.part_of: list[tuple[str, Span]] = []
        # (scope, name) -> checked define node; "checking" marks a definition being checked
        self._define_nodes: dict[tuple[str, str], ir.Node | str] = {}
        self._seen: dict[tuple[str, str], Span] = {}

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help=help))

    def warn(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        """A finding that does not stop the bundle from loading (`lexgate check` shows it)."""
        self.warnings.append(Diagnostic(code, message, span, help=help, severity=Severity.WARNING))

    def require_citation(self, cited: bool, what: str, span: Span, help: str) -> None:
        """Every rule, fine, parameter and rate names its legal source (E0310)."""
        if not cited:
            self.error("E0310", f"{what} has no citation", span, help=help)

    # ---- collection ---------------------------------------------------------------------------

    def _unique(self, namespace: str, name: str, span: Span, what: str) -> bool:
        key = (namespace, name)
        if key in self._seen:
            first = self._seen[key]
            self.error(
                "E0106",
                f"{what} `{name}` is declared twice",
                span,
                help=f"the first declaration is at {first}",
            )
            return False
        self._seen[key] = span
        return True

    def collect(self) -> None:
        for module in self.modules:
            scope = module.regime or COMMON
            if module.regime:
                self.regime_files[module.regime].append(module.path)
                if module.regime_span:
                    self.part_of.append((module.regime, module.regime_span))
            for decl in module.declarations:
                self._collect(decl, scope, module)

    def _collect(self, decl: ast.Decl, scope: str, module: ast.Module) -> None:
        if isinstance(decl, ast.RegimeDecl):
            if self._unique("regime", decl.name, decl.span, "regime"):
                self.headers[decl.name] = decl
        elif isinstance(decl, ast.EnumDecl):
            if self._unique("type", decl.name, decl.span, "type"):
                members = tuple(m for m, _ in decl.members)
                for member, span in decl.members:
                    if members.count(member) > 1:
                        self.error("E0106", f"`{member}` is listed twice in `{decl.name}`", span)
                        break
                self.enums[decl.name] = EnumType(decl.name, members)
                self.descriptions[decl.name] = decl.description
        elif isinstance(decl, ast.RecordDecl):
            if self._unique("type", decl.name, decl.span, "type"):
                self.records[decl.name] = RecordType(decl.name, ())  # fields resolved later
                self.descriptions[decl.name] = decl.description
        elif isinstance(decl, ast.FactDecl):
            self._unique("fact", decl.name, decl.span, "fact")
        elif isinstance(decl, ast.DefineDecl):
            if self._unique(f"name:{scope}", decl.name, decl.span, "name"):
                self.defines[scope][decl.name] = decl
        elif isinstance(decl, ast.ParameterDecl):
            if self._unique(f"name:{scope}", decl.name, decl.span, "name"):
                self.parameters[scope][decl.name] = decl
        elif isinstance(decl, ast.RateDecl):
            if self._unique("rate", decl.name, decl.span, "exchange rate"):
                self.rates[decl.name] = decl
        elif isinstance(decl, ast.TopicDecl):
            if self._unique(f"topic:{scope}", decl.name, decl.span, "topic"):
                self.topics[scope][decl.name] = decl
        elif isinstance(decl, ast.LevelDecl):
            if scope != COMMON:
                self.error(
                    "E0306",
                    f"`{decl.name} facts` belongs to the vocabulary",
                    decl.span,
                    help="declare it in policies/common/, beside the facts",
                )
            else:
                self.levels.append(decl)
        elif isinstance(decl, ast.RetentionDecl):
            if self._unique("retention", decl.name, decl.span, "retention limit"):
                self.retention.append((decl, scope or None))
        elif isinstance(decl, ast.DeriveDecl):
            if self._unique("derive", decl.name, decl.span, "derivation of"):
                self.derivations.append(decl)
        elif isinstance(decl, ast.FineDecl | ast.RuleDecl | ast.ExampleDecl):
            if scope == COMMON:
                kind = {ast.FineDecl: "fine", ast.RuleDecl: "rule", ast.ExampleDecl: "example"}
                self.error(
                    "E0306",
                    f"a {kind[type(decl)]} must belong to a regime",
                    decl.span,
                    help="start the file with `part of GDPR` (or the regime it belongs to)",
                )
            elif isinstance(decl, ast.FineDecl):
                if self._unique(f"fine:{scope}", decl.name, decl.span, "fine"):
                    self.fines[scope][decl.name] = decl
            elif isinstance(decl, ast.RuleDecl):
                if self._unique(f"rule:{scope}", decl.name, decl.span, "rule"):
                    self.rules[scope][decl.name] = decl
            else:
                self.examples[scope].append(decl)

    # ---- types ---------------------------------------------------------------------------------

    def resolve_type(self, ref: ast.TypeRef) -> tuple[Type, str | None]:
        """(type, the duration unit it was declared in, if any)."""

        def simple(name: str, span: Span) -> Type:
            if name in BUILTIN_TYPES:
                return BUILTIN_TYPES[name]
            if name in self.enums:
                return self.enums[name]
            if name in self.records:
                return self.records[name]
            self.error(
                "E0107",
                f"unknown type `{name}`",
                span,
                help=did_you_mean(name, [*BUILTIN_TYPES, *self.enums, *self.records])
                or "types: " + ", ".join(sorted(BUILTIN_TYPES)) + ", or a declared enum",
            )
            return ERROR

        base = simple(ref.name, ref.span)
        unit = ref.name if ref.name in UNITS else None
        if ref.kind == ast.TypeShape.SIMPLE:
            if isinstance(base, RecordType):
                self.error(
                    "E0108",
                    f"`{ref.name}` is a record: a fact holds a list of them",
                    ref.span,
                    help=f"write `list of {ref.name}`",
                )
                return ERROR, None
            return base, unit
        if ref.kind == ast.TypeShape.SET:
            if base != ERROR and not (isinstance(base, EnumType) or base == CODE):
                self.error(
                    "E0108", f"a set holds enum members or country codes, not {base}", ref.span
                )
                return ERROR, None
            return SetType("set", base), None
        if ref.kind == ast.TypeShape.LIST:
            if base != ERROR and not isinstance(base, RecordType):
                self.error(
                    "E0108",
                    f"a list holds records, not {base}",
                    ref.span,
                    help="declare the record first: `record transfer` with `field`s",
                )
                return ERROR, None
            return (ListType("list", base) if isinstance(base, RecordType) else ERROR), None
        value = simple(ref.value_name or "", ref.span)
        return MapType("map", base, value), (ref.value_name if ref.value_name in UNITS else None)

    def resolve_vocabulary(self) -> None:
        for module in self.modules:
            for decl in module.declarations:
                if isinstance(decl, ast.RecordDecl) and decl.name in self.records:
                    fields = []
                    names: set[str] = set()
                    for f in decl.fields:
                        if f.name in names:
                            self.error("E0106", f"field `{f.name}` is declared twice", f.span)
                            continue
                        names.add(f.name)
                        field_type, _ = self.resolve_type(f.type)
                        if isinstance(field_type, ListType | MapType):
                            self.error(
                                "E0108",
                                "a record field holds one value",
                                f.type.span,
                                help="records do not nest: use a set, or a second list fact",
                            )
                            continue
                        fields.append((f.name, field_type))
                    self.records[decl.name] = RecordType(decl.name, tuple(fields))
        # second pass: records may refer to records declared later
        for module in self.modules:
            for decl in module.declarations:
                if isinstance(decl, ast.FactDecl):
                    fact_type, unit = self.resolve_type(decl.type)
                    if isinstance(fact_type, MapType):
                        self.error(
                            "E0108",
                            "a fact cannot be a table",
                            decl.type.span,
                            help="tables (`map of …`) are for parameters; a fact holds one value",
                        )
                        continue
                    if isinstance(fact_type, ListType):
                        fact_type = ListType("list", self.records[fact_type.element.name])
                    self.facts[decl.name] = ir.FactInfo(
                        decl.name, fact_type, decl.description, decl.span, unit
                    )
        for path in self.facts:
            parent = path.rsplit(".", 1)[0]
            if parent != path and parent in self.facts:
                self.error(
                    "E0109",
                    f"`{parent}` is a fact, so `{path}` cannot be one too",
                    self.facts[path].span,
                    help="a fact is either a value or a group of facts",
                )

    # ---- scopes and definitions ------------------------------------------------------------

    def scope(self, regime: str, currency: str | None, constant: bool = False) -> Scope:
        parameter_types = {**self.parameter_types[COMMON], **self.parameter_types[regime]}

        def define(name: str, span: Span) -> ir.Node | None:
            for owner in (regime, COMMON):
                if name in self.defines[owner]:
                    return self.define_node(owner, name, regime, currency)
            return None

        def define_names() -> list[str]:
            return [*self.defines[COMMON], *self.defines[regime]]

        return Scope(
            regime=regime,
            currency=currency,
            facts=self.facts,
            enums=self.enums,
            parameters=parameter_types,
            define=define,
            define_names=define_names,
            constant=constant,
        )

    def define_node(self, owner: str, name: str, regime: str, currency: str | None) -> ir.Node:
        """The checked body of a definition, checked once per regime that uses it (a common
        definition reading a money fact takes the currency of the regime reading it)."""
        key = (regime, name)
        state = self._define_nodes.get(key)
        decl = self.defines[owner][name]
        if state == "checking":
            self.error(
                "E0110",
                f"definition `{name}` refers to itself",
                decl.span,
                help="definitions cannot be recursive; write the condition out",
            )
            return ir.Const(ERROR, decl.span, None)
        if isinstance(state, ir.Node):
            return ir.Define(state.type, decl.span, name, regime)
        self._define_nodes[key] = "checking"
        scope = self.scope(regime, currency)
        declared = self.resolve_type(decl.type)[0] if decl.type else None
        if declared == ERROR:  # already reported; checking the body would only add noise
            node: ir.Node = ir.Const(ERROR, decl.span, None)
        elif declared is not None:
            node = self.exprs.expect(decl.value, scope, declared, f"`{name}`")
        else:
            node = self.exprs.check(decl.value, scope)
        self._define_nodes[key] = node
        return ir.Define(node.type, decl.span, name, regime)

    # ---- parameters and rates ---------------------------------------------------------------

    def _dated_values(
        self,
        values: Iterable[ast.DatedValue],
        declared: Type,
        scope: Scope,
        what: str,
        span: Span,
    ) -> tuple[tuple[ast.Period, ir.Node, str | None], ...]:
        checked = []
        ordered = sorted(values, key=lambda v: v.period.start)
        if not ordered:
            self.error(
                "E0307",
                f"{what} has no value",
                span,
                help="add a dated value: `from 2018-05-25 = …`",
            )
        for previous, current in itertools.pairwise(ordered):
            end = previous.period.end
            if end is None or end > current.period.start:
                self.error(
                    "E0308",
                    f"{what} has two values on {current.period.start.isoformat()}",
                    current.period.span,
                    help=f"end the earlier value with `until {current.period.start.isoformat()}`",
                )
        for value in ordered:
            if value.period.end is not None and value.period.end <= value.period.start:
                self.error("E0309", "`until` must come after `from`", value.period.span)
            node = self.exprs.expect(value.value, scope, declared, f"the value of {what}")
            checked.append((value.period, node, value.cite.text if value.cite else None))
        return tuple(checked)

    def parameter_type(self, decl: ast.ParameterDecl) -> Type:
        declared, _ = self.resolve_type(decl.type)
        if isinstance(declared, MoneyType) and declared.currency is None:
            # a money parameter takes the currency of its values (all the same one)
            for value in decl.values:
                if isinstance(value.value, ast.MoneyLit):
                    return MoneyType("money", value.value.currency)
        return declared

    def check_parameter(self, decl: ast.ParameterDecl, regime: str) -> ir.CheckedParameter:
        declared = self.parameter_types[regime][decl.name]
        scope = self.scope(regime, None, constant=True)
        values = self._dated_values(
            decl.values, declared, scope, f"parameter `{decl.name}`", decl.span
        )
        self.require_citation(
            decl.cite is not None or any(c for _, _, c in values),
            f"parameter `{decl.name}`",
            decl.span,
            'add `cite "…"`: every parameter names its legal source',
        )
        return ir.CheckedParameter(
            name=decl.name,
            type=declared,
            description=decl.description,
            cite=decl.cite.text if decl.cite else None,
            values=values,
            span=decl.span,
        )

    # ---- fines, rules, examples --------------------------------------------------------------

    def check_fine(self, decl: ast.FineDecl, regime: str, currency: str) -> ir.CheckedFine:
        scope = self.scope(regime, currency)
        high = self.exprs.check(decl.high, scope)
        low = self.exprs.check(decl.low, scope) if decl.low is not None else None
        fine_currency = currency
        for node, expr in ((high, decl.high), (low, decl.low)):
            if node is None or expr is None or node.type == ERROR:
                continue
            if not isinstance(node.type, MoneyType):
                self.error(
                    "E0201",
                    f"a fine must be an amount of money, not {node.type}",
                    expr.span,
                    help="e.g. `up to max(EUR 20 million, 4% of …)`",
                )
            elif node.type.currency:
                fine_currency = node.type.currency
        if (
            low is not None
            and isinstance(low.type, MoneyType)
            and isinstance(high.type, MoneyType)
            and low.type.currency != high.type.currency
        ):
            self.error("E0202", "the two ends of `between` are in different currencies", decl.span)
        self.require_citation(
            decl.cite is not None,
            f"fine `{decl.name}`",
            decl.span,
            'add `cite "…"` naming the provision that sets the fine',
        )
        formula = [n for n in (low, high) if n is not None]
        return ir.CheckedFine(
            name=decl.name,
            title=decl.title or decl.name,
            kind=decl.kind,
            low=low,
            high=high,
            currency=fine_currency,
            payer=decl.payer or DEFAULT_PAYER,
            cite=decl.cite.text if decl.cite else None,
            notes=decl.notes,
            facts_read=facts_read(formula, self._define_nodes),
            span=decl.span,
            steps=defines_read(formula, self._define_nodes),
        )

    # ---- the whole bundle --------------------------------------------------------------------

    def check(self) -> ir.CheckedBundle:
        self.collect()
        self.resolve_vocabulary()
        for regime, span in self.part_of:
            if regime not in self.headers:
                self.error(
                    "E0115",
                    f"unknown regime `{regime}`",
                    span,
                    help=did_you_mean(regime, self.headers)
                    or 'declare it with `regime NAME "title"` in one file',
                )
        for scope_name, params in self.parameters.items():
            for name, decl in params.items():
                self.parameter_types[scope_name][name] = self.parameter_type(decl)
        common_parameters = {
            name: self.check_parameter(decl, COMMON)
            for name, decl in self.parameters[COMMON].items()
        }
        for name in self.defines[COMMON]:
            self.define_node(COMMON, name, COMMON, None)
        rates = {}
        for rate in self.rates.values():
            scope = self.scope(COMMON, None, constant=True)
            values = self._dated_values(rate.values, NUMBER, scope, f"rate {rate.name}", rate.span)
            self.require_citation(
                rate.cite is not None,
                f"rate {rate.name}",
                rate.span,
                'add `cite "…"` naming the published source of the rate',
            )
            rates[(rate.base, rate.quote)] = values
        derivations = checkrules.check_derivations(self)
        regimes = {name: self.check_regime(name, header) for name, header in self.headers.items()}
        retention = checkretention.check_retention(self, self.retention)
        if self.diagnostics:
            raise PolicyError(sorted(self.diagnostics, key=_diagnostic_order))
        digest = hashlib.sha256()
        for path in sorted(self.sources):
            digest.update(path.encode() + b"\0" + self.sources[path].encode() + b"\0")
        levels = checkrules.check_levels(self)
        vocabulary = ir.Vocabulary(
            facts=dict(self.facts),
            enums=dict(self.enums),
            records=dict(self.records),
            descriptions=dict(self.descriptions),
            organisation=levels.get("organisation", frozenset()),
            controllable=levels.get("controllable", frozenset()),
        )
        return fold_bundle(
            ir.CheckedBundle(
                vocabulary=vocabulary,
                regimes=regimes,
                parameters=common_parameters,
                rates=rates,
                sources=dict(self.sources),
                hash=digest.hexdigest(),
                derivations=derivations,
                retention=retention,
                warnings=tuple(sorted(self.warnings, key=_diagnostic_order)),
            )
        )

    def regime_kind(self, header: ast.RegimeDecl) -> ast.RegimeKind:
        kinds = [k.value for k in ast.RegimeKind]
        if header.kind is None or header.kind in kinds:
            return ast.RegimeKind(header.kind or ast.RegimeKind.STATUTORY)
        self.error(
            "E0319",
            f"unknown regime kind `{header.kind}`",
            header.kind_span or header.span,
            help=f"`kind internal` for an organisation's own rules ({' or '.join(kinds)})",
        )
        return ast.RegimeKind.STATUTORY

    def check_regime(self, name: str, header: ast.RegimeDecl) -> ir.CheckedRegime:
        kind = self.regime_kind(header)
        currency = header.currency
        if currency is None and kind == ast.RegimeKind.INTERNAL:
            currency = "EUR"  # internal rules carry severities, not fines: no currency needed
        if currency is None:
            self.error(
                "E0314",
                f"regime `{name}` has no currency",
                header.span,
                help="add `currency EUR` (the currency its fines are set in)",
            )
            currency = "EUR"
        aggregate_word = header.aggregate or "sum"
        if aggregate_word not in AGGREGATIONS:
            self.error(
                "E0315",
                f"unknown aggregation `{aggregate_word}`",
                header.aggregate_span or header.span,
                help="`aggregate gravest` (GDPR Art. 83(3)) or `aggregate sum`",
            )
            aggregate_word = "sum"  # checked on, with no follow-on errors
        aggregate = ast.Aggregation(aggregate_word)
        if not header.applies:
            self.error(
                "E0316",
                f"regime `{name}` never says when it applies",
                header.span,
                help="add `applies when …` with the territorial-scope condition",
            )
        scope = self.scope(name, currency)
        applies = []
        for clause in header.applies:
            node = self.exprs.condition(clause.condition, scope, "`applies when`")
            applies.append(
                ir.CheckedApplies(
                    node,
                    clause.cite.text if clause.cite else None,
                    facts_read([node], self._define_nodes),
                    clause.span,
                )
            )
        parameters = {
            pname: self.check_parameter(decl, name) for pname, decl in self.parameters[name].items()
        }
        for dname in self.defines[name]:
            self.define_node(name, dname, name, currency)
        fines = {f: self.check_fine(d, name, currency) for f, d in self.fines[name].items()}
        if kind == ast.RegimeKind.INTERNAL:
            for fine in self.fines[name].values():
                self.error(
                    "E0321",
                    f"internal regime `{name}` declares fine `{fine.name}`",
                    fine.span,
                    help="an internal rule states its `severity` (low, medium, high, "
                    "critical); fines belong to statutes",
                )
        topics = checkrules.check_topics(self, name)
        rules = {
            r: checkrules.check_rule(self, d, name, currency, topics, kind)
            for r, d in self.rules[name].items()
        }
        rules = checkrules.link_exceptions(self, name, rules)
        examples = tuple(
            checkexamples.check_example(self, e, name, currency, rules) for e in self.examples[name]
        )
        defines = {
            dname: ir.CheckedDefine(dname, node, None, node.span)
            for (regime, dname), node in self._define_nodes.items()
            if regime == name and isinstance(node, ir.Node)
        }
        for dname in self.defines[COMMON]:  # common definitions, checked in this regime
            if dname not in defines:
                node = self.define_node(COMMON, dname, name, currency)
                body = self._define_nodes[(name, dname)]
                if isinstance(body, ir.Node):
                    defines[dname] = ir.CheckedDefine(dname, body, None, node.span)
        return ir.CheckedRegime(
            name=name,
            title=header.title or name,
            cite=header.cite.text if header.cite else None,
            in_force=header.in_force,
            currency=currency,
            aggregate=aggregate,
            aggregate_cite=header.aggregate_cite.text if header.aggregate_cite else None,
            applies=tuple(applies),
            rules=rules,
            fines=fines,
            parameters=parameters,
            defines=defines,
            examples=examples,
            files=tuple(self.regime_files[name]),
            notes=header.notes,
            topics=topics,
            kind=kind,
        )


def _diagnostic_order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.span.file, d.span.line, d.span.col)


def check_modules(modules: list[ast.Module], sources: dict[str, str]) -> ir.CheckedBundle:
    return Checker(modules, sources).check()


__all__ = ["COMMON", "Checker", "check_modules"]
