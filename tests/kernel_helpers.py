"""Talking to a real Jupyter kernel in tests: run code, collect what it sent back."""

from __future__ import annotations

import json
import queue
import re
import time


def execute(client, code: str, timeout: float = 60.0) -> dict:
    """Run ``code`` and collect what the kernel sent back for it."""
    msg_id = client.execute(code)
    return collect(client, msg_id, timeout)


def collect(client, msg_id: str, timeout: float = 60.0) -> dict:
    """What the kernel sent back for request ``msg_id`` until it went idle: streams, errors, outputs, widgets."""
    out = {"stdout": "", "stderr": "", "error": None, "data": [], "widgets": [], "status": None}
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"kernel did not finish in {timeout}s: {out}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]] += content["text"]
        elif kind == "error":
            out["error"] = f"{content['ename']}: {content['evalue']}"
        elif kind in ("execute_result", "display_data"):
            out["data"].append(content["data"])
        elif kind == "comm_open":  # a widget's model: its state (a progress bar's max, an HTML widget's value)
            out["widgets"].append(content["data"].get("state", {}))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=timeout)
    out["status"] = reply["content"]["status"]
    return out


def wait_for_progress(client, msg_id: str, done: int = 1, timeout: float = 180.0) -> None:
    """Read request ``msg_id``'s messages until its progress says at least ``done`` runs finished.

    Fails when the cell goes idle first (it finished before it could be interrupted) or after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        counts = [int(n) for n in re.findall(r"(\d+)/\d+ runs", json.dumps(msg["content"]))]
        if counts and max(counts) >= done:
            return
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            raise AssertionError("the cell finished before it could be interrupted")
    raise AssertionError(f"no progress to {done} runs in {timeout}s")
