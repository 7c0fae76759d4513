"""Three-valued (Kleene) logic: the one definition both back ends use.

A truth value is `True`, `False` or `UNKNOWN`. `false and unknown` is false and `true or unknown`
is true; everything else with an unknown side is unknown. The vectorised back end holds a truth
column as two boolean arrays, `values` and `known`; the `*_masks` functions are the same tables
over those arrays.

Kleene logic is *sound* (a known answer is the answer under every completion of the missing
facts) but not *exact*: `(a and b) or (not a and b)` is unknown when `a` is, though `b` alone
decides it. engine/completion.py makes rule outcomes exact on top of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .values import UNKNOWN

if TYPE_CHECKING:  # the mask functions only apply operators: numpy stays out of a cold start
    import numpy as np


def and3(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return UNKNOWN


def or3(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return UNKNOWN


def not3(a: Any) -> Any:
    return UNKNOWN if a is UNKNOWN else not a


def and_masks(
    a_values: np.ndarray, a_known: np.ndarray, b_values: np.ndarray, b_known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(values, known) of `a and b`: known where either side is known-false or both are known."""
    false = (a_known & ~a_values) | (b_known & ~b_values)
    return a_values & b_values, false | (a_known & b_known)


def or_masks(
    a_values: np.ndarray, a_known: np.ndarray, b_values: np.ndarray, b_known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(values, known) of `a or b`: known where either side is known-true or both are known."""
    true = (a_known & a_values) | (b_known & b_values)
    return true, true | (a_known & b_known)


def not_masks(values: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ~values, known
