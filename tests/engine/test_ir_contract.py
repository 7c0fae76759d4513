"""Issue 18: the checked IR is the one contract both back ends implement.

Every `OpCode` has a builder in the scalar back end; the vectorised back end has one or names it
unsupported (its regimes then run on the scalar back end). Adding an operator fails here until
every back end has decided what to do with it. Nodes know their children, and one walk serves
every pass.
"""

from __future__ import annotations

import re
from pathlib import Path

from lexgate.engine import compiler, ir
from lexgate.engine.ir import OpCode
from lexgate.engine.simulation import vector_compiler as vectorised

from tests.conftest import ROOT


def test_scalar_back_end_implements_every_opcode() -> None:
    assert set(compiler.OPERATORS) == set(OpCode)


def test_vectorised_back_end_implements_or_declines_every_opcode() -> None:
    implemented, declined = set(vectorised.OPERATORS), set(vectorised.UNSUPPORTED)
    assert implemented | declined == set(OpCode)
    assert not implemented & declined


def test_every_node_class_has_a_builder_in_both_back_ends() -> None:
    nodes = {ir.Const, ir.Fact, ir.Var, ir.Field, ir.Param, ir.Define, ir.Op, ir.Loop}
    assert set(compiler._NODES) == nodes
    assert set(vectorised._NODES) == nodes


def test_an_operator_no_back_end_knows_is_rejected_where_the_ir_is_built() -> None:
    try:
        ir.Op(ir.Type("bool") if hasattr(ir, "Type") else None, None, "xor", ())  # type: ignore[arg-type]
    except ValueError as error:
        assert "xor" in str(error)
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("an unknown operator was accepted")


def test_no_string_dispatch_on_operators_or_node_names() -> None:
    """One dispatch style: tables keyed by OpCode and node class, not `if op ==` chains or
    `getattr(self, f"_{type(node).__name__}")`."""
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):  # the simulation package too
        text = path.read_text()
        for pattern in (r"if op ==", r"getattr\(self, f\"_\{type\(node\)"):
            if re.search(pattern, text):
                offenders.append(f"{path.name}: {pattern}")
    assert not offenders


def test_walk_visits_every_node_once_in_pre_order() -> None:
    from lexgate.engine import load_sources

    bundle = load_sources(
        {
            "common/v.policy": 'fact a: bool "a"\nfact n: count "n"\n',
            "x/r.policy": (
                'regime X "x" cite "X"\n in force from 2018-01-01\n currency EUR\n'
                ' applies when true cite "s"\n'
                'rule r "r" cite "R"\n violation when a and (n > 3 or not a)\n'
            ),
        }
    )
    condition = bundle.checked.regimes["X"].rules["r"].violation
    assert condition is not None
    nodes = list(ir.walk(condition))
    assert nodes[0] is condition
    kinds = [n.op if isinstance(n, ir.Op) else type(n).__name__ for n in nodes]
    assert kinds == [OpCode.AND, "Fact", OpCode.OR, OpCode.GT, "Fact", "Const", OpCode.NOT, "Fact"]


def test_constants_are_folded_once_after_checking() -> None:
    from lexgate.engine import load_sources

    bundle = load_sources(
        {
            "common/v.policy": 'fact m: money "m"\n',
            "x/r.policy": (
                'regime X "x" cite "X"\n in force from 2018-01-01\n currency EUR\n'
                ' applies when true cite "s"\n'
                'rule r "r" cite "R"\n violation when m > EUR 10 million * 2\n'
            ),
        }
    )
    condition = bundle.checked.regimes["X"].rules["r"].violation
    assert isinstance(condition, ir.Op)
    assert isinstance(condition.args[1], ir.Const)
    assert condition.args[1].value.amount == 20_000_000


def test_engine_and_api_modules_stay_readable() -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for folder in ("engine", "api")
        for p in (ROOT / folder).rglob("*.py")
        if (n := len(Path(p).read_text().splitlines())) > 650
    }
    assert not too_long, f"modules over ~600 lines: {too_long}"
