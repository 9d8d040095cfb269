"""Runs a coroutine on a thread of its own.

Playwright's sync API keeps an event loop running on the main thread for the whole session,
so tests that use asyncio must not call asyncio.run() there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_async(scenario: Callable[[], Awaitable[T]], timeout: float = 300) -> T:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(_wrap(scenario))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="asyncio-test")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the scenario did not finish within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


async def _wrap(scenario: Callable[[], Awaitable[T]]) -> T:
    return await scenario()
