"""The environment, agents and scorer of ``runloop_booking.yaml``: a real SQLite database per run.

``setup`` creates the database (flights on offer, no bookings) and returns where it is, which
becomes ``state.env``; the agent books by writing a row, so ``booked_in_db`` checks the
environment itself, not only what the agent said. ``teardown`` deletes it (it runs after
errors, timeouts and cancels too).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from russo_nb.scenario import AgentAdapter, AgentInput

ROUTE = re.compile(r"from (?P<src>[A-Z]{2,3}) to (?P<dst>[A-Z]{2,3})")


def setup(state: Any) -> dict[str, str]:
    """A fresh database for this run: three flights, an empty bookings table."""
    folder = tempfile.mkdtemp(prefix="russo-booking-")
    path = str(Path(folder) / "airline.sqlite")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE flights (id INTEGER PRIMARY KEY, from_city TEXT, to_city TEXT)")
        db.execute("CREATE TABLE bookings (flight_id INTEGER REFERENCES flights(id))")
        db.executemany(
            "INSERT INTO flights (from_city, to_city) VALUES (?, ?)", [("NYC", "LA"), ("NYC", "SF"), ("LA", "NYC")]
        )
    return {"db": path, "folder": folder}


def teardown(state: Any) -> None:
    """Delete this run's database."""
    if isinstance(state.env, dict):
        shutil.rmtree(state.env["folder"], ignore_errors=True)


class BookingAgent(AgentAdapter):
    """Books the flight the user names ("from NYC to LA") in the run's database, with a tool call."""

    def book(self, db_path: str, src: str, dst: str) -> str:
        with sqlite3.connect(db_path) as db:
            row = db.execute("SELECT id FROM flights WHERE from_city = ? AND to_city = ?", (src, dst)).fetchone()
            if row is None:
                return "no such flight"
            db.execute("INSERT INTO bookings (flight_id) VALUES (?)", (row[0],))
        return f"booked flight {row[0]}"

    async def call(self, input: AgentInput) -> Any:
        match = ROUTE.search(input.last_new_user_message_str())
        if match is None:
            return "Where would you like to fly from and to?"
        src, dst = match["src"], match["dst"]
        outcome = self.book(input.scenario_state.env["db"], src, dst)
        call = {
            "id": "call_book",
            "type": "function",
            "function": {"name": "book_flight", "arguments": json.dumps({"from_city": src, "to_city": dst})},
        }
        return [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_book", "content": outcome},
            {"role": "assistant", "content": f"Done: {outcome} from {src} to {dst}."},
        ]


class ForgetfulAgent(BookingAgent):
    """Says it booked (the right tool call) but never writes the row: the environment check catches it."""

    def book(self, db_path: str, src: str, dst: str) -> str:
        return "booked flight 1"


def booked_in_db(result: Any, state: Any) -> float:
    """1.0 when the run's database holds exactly one booking, NYC to LA; else 0.0."""
    with sqlite3.connect(state.env["db"]) as db:
        rows = db.execute(
            "SELECT f.from_city, f.to_city FROM bookings b JOIN flights f ON f.id = b.flight_id"
        ).fetchall()
    return 1.0 if rows == [("NYC", "LA")] else 0.0
