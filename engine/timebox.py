"""A time limit for a block of pure-Python work in the current thread.

Policy evaluation has no loop the language can leave unbounded, but its cost grows with the
facts: an `example` whose lists feed nested quantifiers can run for minutes, and `lexgate test`
or a reload must not hang on it. `run_limited(seconds, work)` starts a watchdog thread that,
once the time is up, raises `TimeLimitExceeded` in the limited thread through CPython's
`PyThreadState_SetAsyncExc`: the exception arrives at the thread's next bytecode, within
milliseconds for evaluation (a single long C call, such as one huge multiplication, finishes
first). Nothing is killed and no state is shared: the block simply stops with an exception.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimeLimitExceeded(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g} s")
        self.seconds = seconds


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


def run_limited(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, or TimeLimitExceeded if it runs longer than `seconds` (in this thread)."""
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    stop = threading.Event()

    def watchdog() -> None:
        if stop.wait(seconds):
            return
        with lock:
            if not state["done"]:
                state["fired"] = True
                _raise_in(target, _Expired)

    timer = threading.Thread(target=watchdog, name="time-limit", daemon=True)
    timer.start()
    try:
        result = work()
    except _Expired:
        raise TimeLimitExceeded(seconds) from None
    finally:
        with lock:
            state["done"] = True
        stop.set()
        if state["fired"]:
            _raise_in(target, None)  # not delivered yet (the work ended first): withdraw it
    if state["fired"]:
        raise TimeLimitExceeded(seconds)
    return result


class _Expired(BaseException):
    """Internal: a BaseException, so that no `except Exception` in the limited code swallows
    it on the way out."""
