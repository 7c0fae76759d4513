"""The front door: load a policy directory (parse -> check -> compile) into a `Bundle` and ask
it for decisions. Like Jinja's Environment, every stage stays reachable for debugging
(`bundle.checked` is the checked IR, `parse_tree(path)` the AST)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import posixpath
from collections.abc import Mapping
from decimal import Decimal, localcontext
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ir
from .ast import RegimeKind
from .cache import (
    bundle_key,
    cache_dir,
    load_checked,
    load_module,
    module_key,
    store_checked,
    store_module,
)
from .completion import Domains
from .decision import Amount, Decision, most_restrictive
from .derive import Derivations
from .diagnostics import NO_SPAN, Diagnostic, PolicyError
from .evaluator import CompiledRegime
from .fold import constant_value
from .values import PRECISION, ExchangeRates, Money, RateEntry

# Imported where first used, not here: a warm start (a cached bundle) needs neither the parser
# (Lark) nor the checker, and only a decision from JSON needs pydantic (docs/ARCHITECTURE.md,
# "Cold start"; bench/cold_start.py measures it).
if TYPE_CHECKING:
    from .profiles import Profile
    from .vocabulary import OperationSchema

POLICY_SUFFIX = ".policy"
# A policy file is a topic of a statute: 1 MB is far beyond any, and keeps a parse bounded.
MAX_POLICY_BYTES = 1_048_576
COMMON_DIR = "common"
DEFAULT_CURRENCY = "EUR"


def find_policy_root(path: Path) -> tuple[Path, str | None]:
    """(bundle root, only-this-regime-directory) for a path given on the command line: the
    root holds `common/`; a regime directory inside it narrows `lexgate test` to that regime."""
    path = path.resolve()
    if (path / COMMON_DIR).is_dir():
        return path, None
    if (path.parent / COMMON_DIR).is_dir():
        return path.parent, path.name
    return path, None


def policy_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(f"*{POLICY_SUFFIX}") if p.is_file())


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_sources(sources: Mapping[str, str]) -> Bundle:
    """Parse, check and compile policy texts given as {file name: text}. The checked form is
    cached (engine/cache.py) under the hash of the texts and of the engine."""
    caching = cache_dir() is not None  # LEXGATE_NO_CACHE: not even the keys are hashed
    key = bundle_key(sources) if caching else ""
    cached = load_checked(key) if caching else None
    if cached is not None:
        return Bundle(cached)
    from .checker import check_modules

    diagnostics: list[Diagnostic] = []
    modules = []
    for file, text in sorted(sources.items()):
        # a file parsed before (same engine, name and text) is not parsed again: after an
        # edit, only the edited file is
        file_key = module_key(file, text) if caching else ""
        module = load_module(file_key) if caching else None
        if module is None:
            from .parser import parse_module

            module, found = parse_module(text, file)
            diagnostics.extend(found)
            if caching and not found:
                store_module(file_key, module)
        modules.append(module)
    if diagnostics:  # the declarations that did parse are checked too (one run, every error)
        from .parser import check_despite_syntax_errors

        raise PolicyError(check_despite_syntax_errors(modules, dict(sources), diagnostics))
    checked = dataclasses.replace(check_modules(modules, dict(sources)), hash=content_hash(sources))
    if caching:
        store_checked(key, checked)
    return Bundle(checked)


def content_hash(sources: Mapping[str, str]) -> str:
    """The bundle hash: SHA-256 over each file's path relative to the directory all the files
    share, and its text. It names the contents, not where they were loaded from: the same
    files under another folder (a deployment, a snapshot, a Dask worker) are the same bundle."""
    names = {name.replace("\\", "/"): text for name, text in sources.items()}
    try:
        base = posixpath.commonpath([posixpath.dirname(name) for name in names])
    except ValueError:  # absolute and relative names mixed: keep them as given
        base = ""
    digest = hashlib.sha256()
    for name in sorted(names):
        relative = posixpath.relpath(name, base) if base else name
        digest.update(relative.encode() + b"\0" + names[name].encode() + b"\0")
    return digest.hexdigest()


def load_bundle(path: str | Path = "policies") -> Bundle:
    """Load every `*.policy` file under `path`. Raises `PolicyError` with all diagnostics."""
    root = Path(path)
    if not root.exists():
        raise PolicyError([Diagnostic("E0002", f"no policy directory at `{root}`", NO_SPAN)])
    files = [root] if root.is_file() else policy_files(root)
    if not files:
        raise PolicyError(
            [
                Diagnostic(
                    "E0002",
                    f"no `{POLICY_SUFFIX}` files under `{root}`",
                    NO_SPAN,
                    help="policy files end in .policy, e.g. policies/gdpr/lawful_basis.policy",
                )
            ]
        )
    problems = [
        Diagnostic(
            "E0002",
            f"`{_display_path(link)}` is a broken symbolic link (it points to "
            f"`{link.readlink()}`, which does not exist)",
            NO_SPAN,
            help="remove the link, or restore the file it points to",
        )
        for link in ([] if root.is_file() else sorted(root.rglob(f"*{POLICY_SUFFIX}")))
        if link.is_symlink() and not link.exists()
    ]
    sources = {}
    for file in files:
        try:
            size = file.stat().st_size
            if size > MAX_POLICY_BYTES:
                problems.append(
                    Diagnostic(
                        "E0002",
                        f"`{_display_path(file)}` is {size:,} bytes; a policy file may "
                        f"hold at most {MAX_POLICY_BYTES:,}",
                        NO_SPAN,
                        help="split it into files of one topic each",
                    )
                )
                continue
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            message = f"cannot read `{file}`: {error}"
            raise PolicyError([Diagnostic("E0002", message, NO_SPAN)]) from None
        sources[_display_path(file)] = text
    if problems:
        raise PolicyError(problems)
    return load_sources(sources)


class Bundle:
    """A checked, compiled policy bundle. Immutable; safe to share between threads."""

    @staticmethod
    def from_sources(sources: Mapping[str, str]) -> Bundle:
        """`load_sources`, reached through a bundle: Dask workers rebuild theirs with it, so the
        simulation (which Bundle.simulate imports) never imports this module."""
        return load_sources(sources)

    def __init__(self, checked: ir.CheckedBundle):
        self.checked = checked
        self.hash = checked.hash
        self.rates = ExchangeRates(
            {
                pair: tuple(
                    RateEntry(period.start, period.end, constant_value(node), cite)
                    for period, node, cite in values
                )
                for pair, values in checked.rates.items()
            }
        )
        self.domains = Domains(checked.vocabulary)
        self.derivations = Derivations(checked.derivations, self.rates)
        self.regimes = {
            name: CompiledRegime(
                regime,
                checked.parameters,
                self.domains,
                frozenset(d.path for d in checked.derivations),
            )
            for name, regime in checked.regimes.items()
        }

    @cached_property
    def schema(self) -> OperationSchema:
        """The operation's pydantic model, built on first use: a start that only decides
        validated facts (the simulation, a Dask worker) never imports pydantic."""
        from .vocabulary import OperationSchema

        # Money in an operation may be in a currency the bundle can convert: one with a
        # declared rate, or a regime's own (GBP with no rate would silently count as nothing).
        checked = self.checked
        currencies = {c for pair in checked.rates for c in pair} | {DEFAULT_CURRENCY}
        currencies |= {r.currency for r in checked.regimes.values() if r.currency}
        return OperationSchema(checked.vocabulary, frozenset(currencies))

    # ---- decisions ------------------------------------------------------------------------------

    def decide(
        self,
        operation: Mapping[str, Any],
        as_of: dt.date | None = None,
        currency: str = DEFAULT_CURRENCY,
        explain: bool = False,
        overrides: Mapping[str, Any] | None = None,
        profile: Profile | None = None,
        questions: bool = False,
        remediate: bool = False,
    ) -> Decision:
        """Validate an operation (JSON data) and decide it. `as_of` here wins over the
        operation's own `as_of`; the default is today. `overrides` is operation JSON too,
        validated the same way, whose facts replace the operation's (what-if). A `profile`
        (engine/profiles.py) supplies the organisation's facts the operation does not state.
        `questions` adds the decisive questions of undetermined regimes, `remediate` the
        smallest changes that make denied or undetermined regimes allowed."""
        facts, operation_as_of = self.schema.validate(operation)
        if overrides:
            changed, _ = self.schema.validate(overrides)
            facts = {**facts, **changed}
        return self.decide_facts(
            facts,
            as_of or operation_as_of or dt.date.today(),
            currency,
            explain,
            profile=profile,
            questions=questions,
            remediate=remediate,
        )

    def load_profile(
        self, data: Any, profile_id: str = "profile", version: int | None = None
    ) -> Profile:
        """Validate a profile's JSON against this bundle's vocabulary (engine/profiles.py)."""
        from .profiles import load_profile

        return load_profile(self.schema, data, profile_id, version, self.internal_regimes)

    @property
    def internal_regimes(self) -> frozenset[str]:
        """The regimes of `kind internal`: off unless a profile enables them."""
        return frozenset(
            n for n, r in self.checked.regimes.items() if r.kind == RegimeKind.INTERNAL
        )

    def decide_facts(
        self,
        facts: Mapping[str, Any],
        as_of: dt.date,
        currency: str = DEFAULT_CURRENCY,
        explain: bool = False,
        regimes: list[str] | None = None,
        profile: Profile | None = None,
        questions: bool = False,
        remediate: bool = False,
    ) -> Decision:
        """Decide from already-validated facts (the fast path used by batch and simulation)."""
        used = None
        if profile is not None:
            from .profiles import merged

            facts, used = merged(profile, facts)
        with localcontext() as context:
            context.prec = PRECISION  # 40 digits: exact for every bounded input (vocabulary.py)
            facts, derived = self.derivations.apply(facts, as_of)
            derive = self.derivations.fill if self.derivations else None
            decisions = {
                name: self.regimes[name].evaluate(
                    facts, as_of, self.rates, currency, explain, derive, self.derivations.inputs
                )
                for name in (regimes or self.enabled(profile))
            }
            if questions or remediate:
                from .questions import decisive_questions
                from .remediation import remediations

                decisions = {
                    name: dataclasses.replace(
                        regime,
                        questions=decisive_questions(self, name, regime, facts, as_of)
                        if questions
                        else (),
                        remediations=remediations(self, name, regime, facts, as_of, currency)
                        if remediate
                        else (),
                    )
                    for name, regime in decisions.items()
                }
        # internal regimes keep their findings apart: not in the law's status or exposure
        internal = {n: r for n, r in decisions.items() if r.kind == RegimeKind.INTERNAL}
        decisions = {n: r for n, r in decisions.items() if n not in internal}
        lows, highs, floors = [], [], []
        for regime in decisions.values():
            organisation = regime.organisation_exposure
            if organisation is not None:
                lows.append(organisation.reporting_min)
                highs.append(organisation.reporting_max)
                floors.append(organisation.reporting_max or organisation.reporting_max_at_least)
        high = _total(highs, currency)
        at_least = _total([f for f in floors if f is not None], currency) if high is None else None
        total = Amount(
            min=None,
            max=None,
            reporting_min=_total(lows, currency),
            reporting_max=high,
            max_at_least=None,
            reporting_max_at_least=at_least,
        )
        missing = sorted({m for r in decisions.values() for m in r.missing})
        return Decision(
            status=most_restrictive([r.status for r in decisions.values()]),
            as_of=as_of,
            currency=currency,
            regimes=decisions,
            exposure=total,
            missing=tuple(missing),
            bundle_hash=self.hash,
            derived=derived,
            profile=used,
            internal=internal or None,
        )

    def enabled(self, profile: Profile | None = None) -> list[str]:
        """The regimes a decision runs by default: every statute, and the internal regimes
        (`kind internal`) the profile enables."""
        chosen = set(profile.enable) if profile is not None else set()
        return [
            name
            for name, regime in self.checked.regimes.items()
            if regime.kind == RegimeKind.STATUTORY or name in chosen
        ]

    def simulate(
        self, frame: Any, as_of: dt.date | None = None, currency: str = DEFAULT_CURRENCY
    ) -> Any:
        """Many operations at once through the vectorised back end: a pandas DataFrame of
        flattened operations in, a DataFrame of results (same index) out. docs/SIMULATION.md."""
        from .simulation.runner import simulate_frame

        return simulate_frame(self, frame, as_of=as_of, currency=currency)

    # ---- introspection ------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "regimes": [
                {
                    "name": r.name,
                    "title": r.title,
                    "kind": r.kind.value,  # internal: off unless a profile enables it
                    "currency": r.currency,
                    "in_force_from": r.in_force.start.isoformat() if r.in_force else None,
                    "rules": sum(1 for x in r.rules.values() if x.exception_to is None),
                    "exceptions": sum(1 for x in r.rules.values() if x.exception_to is not None),
                    "fines": len(r.fines),
                    "examples": len(r.examples),
                    "files": list(r.files),
                }
                for r in self.checked.regimes.values()
            ],
            "facts": len(self.checked.vocabulary.facts),
        }


def _total(values: list[Money | None], currency: str) -> Money | None:
    if any(v is None for v in values):
        return None
    total = Money(Decimal(0), currency)
    for value in values:
        total = total + value  # type: ignore[operator]
    return total
