"""Issue 12 items 10-13 and 15: the policy tools against hostile or careless policy files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from lexgate.api.policies import prepare
from lexgate.api.testing import shipped_policies
from lexgate.engine import PolicyError, load_bundle
from lexgate.engine.diagnostics import did_you_mean
from lexgate.engine.parser import parse_module

HEADER = 'regime HOSTILE "hostile"\n  currency EUR\n  applies when true\n    cite "Art. 0"\n\n'


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(shipped_policies() / "common", root / "common")
    return root


def diagnostics_of(root: Path) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        load_bundle(root)
    return [
        f"{d.code} {d.span.file}:{d.span.line}:{d.span.col} {d.message}"
        for d in raised.value.diagnostics
    ]


# --- item 10: deep nesting is a located error, not a RecursionError ---------------------------


@pytest.mark.parametrize(
    "expression",
    [
        " and ".join(["legal_basis is none"] * 247),
        " + ".join(["1"] * 5000) + " > 3",
        "not " * 10000 + "true",
    ],
    ids=["247 and", "5000 plus", "10000 not"],
)
def test_deep_expressions_get_a_located_error(bundle_dir: Path, expression: str) -> None:
    (bundle_dir / "deep.policy").write_text(
        HEADER + f'rule deep "deep" cite "Art. 1"\n  violation when {expression}\n'
    )
    found = diagnostics_of(bundle_dir)
    assert len(found) == 1, found
    assert "deep.policy:7:" in found[0] and "nested more than 100 levels" in found[0]


# --- item 11: comment scanning, did-you-mean, file size ---------------------------------------


def test_a_megabyte_of_comments_parses_in_linear_time() -> None:
    text = HEADER + '# a comment with "quotes" and # hashes\n' * 25_000  # ~1 MB
    started = time.monotonic()
    module, found = parse_module(text, "comments.policy")
    assert time.monotonic() - started < 10  # was ~15 s for 1 MB, 35 s for 2 MB
    assert not found and len(module.comments) == 25_000
    assert module.comments[-1].span.line == 25_005


def test_thousands_of_unknown_names_get_suggestions_quickly() -> None:
    known = [f"controller.fact_{i}" for i in range(300)] + ["consent.demonstrable"]
    started = time.monotonic()
    for i in range(5000):
        did_you_mean(f"unknown_name_number_{i}", known)
    assert time.monotonic() - started < 10  # was 37 s for 5,000 (4.4 s for 1,000)
    assert did_you_mean("consent.demonstrabel", known) == "did you mean `consent.demonstrable`?"


def test_an_oversized_policy_file_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "huge.policy").write_text(
        HEADER + 'define x: text = "' + "x" * 2_000_000 + '"\n  cite "Art. 1"\n'
    )
    found = diagnostics_of(bundle_dir)
    assert found and "a policy file may hold at most 1,048,576" in found[0]


# --- item 12: examples have a time limit ------------------------------------------------------


def test_a_cubic_example_fails_on_its_time_limit_and_a_reload_returns(bundle_dir: Path) -> None:
    items = ", ".join(["{destination: US, subjects: 1}"] * 200)
    (bundle_dir / "cubic.policy").write_text(
        HEADER + 'rule cubic "cubic" cite "Art. 1"\n'
        "  violation when any a in transfers where any b in transfers where any c in transfers"
        " where a.subjects + b.subjects + c.subjects > 5\n\n"
        f'example "a cubic example"\n  given transfers = [{items}]\n  expect allowed\n'
    )
    load_bundle(bundle_dir)  # it passes the checker, as in the report
    started = time.monotonic()
    with pytest.raises(PolicyError) as raised:
        prepare(bundle_dir)  # what a reload runs
    assert time.monotonic() - started < 60  # the example's limit is 5 s; it used not to end
    (message,) = [d.message for d in raised.value.diagnostics]
    assert "took longer than its time limit" in message


# --- item 13: a broken symlink is reported ----------------------------------------------------


def test_a_broken_policy_symlink_is_an_error(bundle_dir: Path) -> None:
    os.symlink(bundle_dir / "gone.policy", bundle_dir / "link.policy")
    found = diagnostics_of(bundle_dir)
    assert any("link.policy` is a broken symbolic link" in f for f in found), found


# --- item 15: the bundle hash does not depend on the folder -----------------------------------


def test_the_same_files_in_another_folder_hash_the_same(tmp_path: Path) -> None:
    first = tmp_path / "one" / "policies"
    second = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(shipped_policies(), first)
    shutil.copytree(shipped_policies(), second)
    assert load_bundle(first).hash == load_bundle(second).hash
    (second / "gdpr" / "extra.policy").write_text("part of GDPR\n")
    assert load_bundle(first).hash != load_bundle(second).hash
