"""The hook that decides what of an operation is written to the decision log.

Nothing is masked yet; a deployment that must not keep some fact (a name in free text, say)
passes its own `Masker` to `create_app`. The decision itself is always logged unmasked, since it
is what auditors ask about, and it only repeats facts a rule read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Masker = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def keep_everything(operation: Mapping[str, Any]) -> Mapping[str, Any]:
    return operation
