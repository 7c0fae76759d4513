"""Helpers shared by the hand-computed case tables: set or remove a fact in operation JSON."""

from __future__ import annotations

from typing import Any


def set_fact(operation: dict[str, Any], path: str, value: Any) -> None:
    *groups, leaf = path.split(".")
    target = operation
    for group in groups:
        target = target.setdefault(group, {})
    target[leaf] = value


def unset_fact(operation: dict[str, Any], path: str) -> None:
    *groups, leaf = path.split(".")
    target = operation
    for group in groups:
        target = target[group]
    del target[leaf]
