"""russo_nb.testing's waiting helpers: they wait on what happens, and a missed event fails by name, not by hanging."""

from __future__ import annotations

import asyncio
import threading

import pytest

from russo_nb.testing import Gate, wait_until


def test_until_waiting_returns_when_that_many_are_held_and_times_out_otherwise():
    gate = Gate()

    async def main():
        held = [asyncio.ensure_future(gate.wait()) for _ in range(3)]
        await gate.until_waiting(3)
        assert gate.waiting == 3 and not any(task.done() for task in held)
        with pytest.raises(TimeoutError):
            await gate.until_waiting(4, timeout=0.05)
        gate.open()
        await asyncio.gather(*held)
        assert gate.waiting == 0
        await gate.wait()  # an open gate lets later callers straight through

    asyncio.run(main())


def test_wait_until_returns_the_value_once_another_thread_makes_it_true():
    box: list[str] = []
    writer = threading.Timer(0.01, box.append, ["written"])
    writer.start()
    assert wait_until(lambda: box[:1], 30, what="the writer") == ["written"]
    writer.join()


def test_wait_until_names_what_did_not_happen():
    with pytest.raises(TimeoutError, match=r"the export did not happen within 0.05 s"):
        wait_until(lambda: False, 0.05, what="the export")
