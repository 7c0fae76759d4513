"""The lookup tables of a simulation's columns: each simulated regime's currency, which rule
each bit of `REGIME.violated` / `REGIME.undetermined` stands for, and which fact each bit of
`REGIME.missing` stands for. Computed from the checked bundle alone (no kernel), so the driver
of a cluster run has them without compiling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ast import RegimeKind
from .regimes import question_bits, rule_bits

if TYPE_CHECKING:  # Bundle.simulate imports the simulation
    from ..bundle import Bundle


def currencies_of(bundle: Bundle, currency: str) -> dict[str, str]:
    """The reporting currency (`total`) and each simulated regime's own (as `Kernel` leaves
    internal regimes out), without compiling a kernel."""
    regimes = {
        name: bundle.checked.regimes[name].currency
        for name, compiled in bundle.regimes.items()
        if compiled.regime.kind != RegimeKind.INTERNAL
    }
    return {"total": currency, **regimes}


def codes_of(bundle: Bundle) -> dict[str, list[dict[str, Any]]]:
    """The lookup table of the rule columns: per simulated regime, bit i of `REGIME.violated`
    and `REGIME.undetermined` (bit 64k + i: the column `…[k]`) is entry i."""
    table = {}
    for name in list(currencies_of(bundle, ""))[1:]:  # the simulated regimes
        regime = bundle.checked.regimes[name]
        table[name] = [
            {
                "bit": bit,
                "rule": rule,
                "title": regime.rules[rule].title,
                "cite": regime.rules[rule].cite,
            }
            for rule, bit in rule_bits(regime).items()
        ]
    return table


def facts_of(bundle: Bundle) -> dict[str, list[str]]:
    """Per simulated regime, the fact of each bit of `REGIME.missing` (entry i is bit i)."""
    return {
        name: list(question_bits(bundle.checked.regimes[name]))
        for name in list(currencies_of(bundle, ""))[1:]
    }
