"""Issue 18: the distribution installs everything under one namespace. The source folders stay
at the top of the repository (engine/, api/), but `pip install .` puts them at
`lexgate/engine` and `lexgate/api`, so nothing named `engine` or `api` lands in site-packages."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        "lexgate." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in ("engine", "api", "client")
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert listed == on_disk


def test_pip_install_puts_nothing_at_the_top_but_lexgate(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
    (wheel,) = wheels.glob("lexgate-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    top = {p.name for p in target.iterdir() if not p.name.endswith((".dist-info", "bin"))}
    assert top == {"lexgate"}
    assert (target / "lexgate" / "engine" / "grammar.lark").is_file()
    assert (target / "lexgate" / "engine" / "grammar.tables").is_file()  # shipped parser tables
    assert not (target / "lexgate" / "__init__.py").exists()  # a namespace package
    # The installed copy works on its own: the CLI's entry point and the grammar resolve there.
    probe = (
        "import lexgate.engine.cli, lexgate.engine.parser as p; "
        f"assert p.__file__.startswith({str(target)!r}); print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "ok"
