"""Cold start: a fresh Python process that imports lexgate.engine and loads the shipped bundle.

What a lawyer waits for on every `lexgate eval`/`test`, and a service worker on every start.
Each figure is the wall time of a whole child process (interpreter start included), median
and worst over --runs runs, in three states of the cache directory (engine/cache.py):

- warm:    the bundle's checked form is cached (the common case: nothing changed);
- edited:  one policy file differs from every earlier run (a lawyer's edit): that file is
           parsed again, the others come from the cache, the whole bundle is checked;
- no cache: LEXGATE_NO_CACHE=1: the parser's tables are built and every file parsed.

    .venv/bin/python bench/cold_start.py [--runs 9] [--baseline REF] [--policies DIR]

`--baseline REF` measures the same three states, in the same run, with the engine of git
revision REF (a temporary worktree put first on the import path as `lexgate.engine`) and
prints the ratios. The machine is shared: compare ratios from one run, not figures across
runs. Each side has a cache directory of its own, made for the run and removed after it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = "import {module} as engine; engine.load_bundle({policies!r})"


def _run(code: str, env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def measure(
    engine_path: Path | None, policies: Path, runs: int, module: str = "lexgate.engine"
) -> dict[str, list[float]]:
    """Wall times (seconds) of each state, with `engine_path` first on the path, or the
    installed engine when None; `module` is what the engine is imported as."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LEXGATE_CACHE_DIR": str(Path(tmp) / "cache")}
        env.pop("LEXGATE_NO_CACHE", None)
        if engine_path is not None:
            env["PYTHONPATH"] = str(engine_path)
        # the edited state: a copy of the policies whose first file gains a comment per run
        copy = Path(tmp) / "policies"
        files = sorted(policies.rglob("*.policy"))
        for file in files:
            target = copy / file.relative_to(policies)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
        edited = copy / files[0].relative_to(policies)
        original = edited.read_text(encoding="utf-8")
        load = LOAD.format(module=module, policies=str(policies))
        load_copy = LOAD.format(module=module, policies=str(copy))
        cwd = Path(tmp)
        _run(load, env, cwd)  # fills the cache
        _run(load_copy, env, cwd)
        figures: dict[str, list[float]] = {"import": [], "warm": [], "edited": [], "no cache": []}
        for run in range(runs):
            figures["import"].append(_run(f"import {module}", env, cwd))
            figures["warm"].append(_run(load, env, cwd))
            edited.write_text(original + f"\n# edit {run} {time.time_ns()}\n", encoding="utf-8")
            figures["edited"].append(_run(load_copy, env, cwd))
            figures["no cache"].append(_run(load, {**env, "LEXGATE_NO_CACHE": "1"}, cwd))
        return figures


def baseline_engine(ref: str, tmp: Path) -> tuple[Path, str]:
    """(the folder to put first on the path, the module to import) for revision `ref`: from
    the packaging commit on the engine is `lexgate.engine`, before it plain `engine`."""
    tree = tmp / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
        check=True,
        capture_output=True,
    )
    if "package-dir" not in (tree / "pyproject.toml").read_text(encoding="utf-8"):
        return tree, "engine"
    path = tmp / "path"
    (path / "lexgate").mkdir(parents=True)
    (path / "lexgate" / "engine").symlink_to(tree / "engine")
    return path, "lexgate.engine"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--baseline", help="git revision to compare against, in the same run")
    args = parser.parse_args()
    policies = args.policies.resolve()
    rows = [("now", measure(None, policies, args.runs))]
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                engine, module = baseline_engine(args.baseline, Path(tmp))
                # the baseline's own shipped policies: the language may have grown since
                own = Path(tmp) / "tree" / policies.relative_to(ROOT)
                rows.append((f"baseline {args.baseline}", measure(engine, own, args.runs, module)))
            finally:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT),
                        "worktree",
                        "remove",
                        "--force",
                        str(Path(tmp) / "tree"),
                    ],
                    check=False,
                    capture_output=True,
                )
    print(
        f"cold start: a new process imports lexgate.engine and loads {policies.name}/ "
        f"({len(list(policies.rglob('*.policy')))} files); wall time of the whole process, "
        f"median (max) of {args.runs} runs"
    )
    goals = {"warm": 0.3, "no cache": 0.8}
    for label, figures in rows:
        cells = []
        for state, times in figures.items():
            cells.append(f"{state} {statistics.median(times):5.3f} s ({max(times):5.3f})")
        print(f"  {label:<18} " + " | ".join(cells))
    now = rows[0][1]
    for state, goal in goals.items():
        median = statistics.median(now[state])
        verdict = "met" if median <= goal else "NOT met"
        print(f"  goal {state}: <= {goal} s, now {median:.3f} s: {verdict}")
    if len(rows) > 1:
        base = rows[1][1]
        print(
            "  ratio baseline/now (how many times faster): "
            + ", ".join(
                f"{state} {statistics.median(base[state]) / statistics.median(now[state]):.2f}x"
                for state in now
            )
        )


if __name__ == "__main__":
    main()
