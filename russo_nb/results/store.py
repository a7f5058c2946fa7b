"""History of batches in a SQLite file, so runs can be compared across days and agent versions.

One row per batch (parameters as JSON, times, pass rate, suite name) and one row per run.
Each batch is written in one transaction: a writer killed half-way leaves the batches
committed before it intact and none of its own rows. WAL journaling and a busy timeout
let several processes record at once.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.columns import table_columns
from ..model.errors import InvalidArgumentError, StoreBusyError, UnknownNameError
from ..model.run_fields import run_json, run_table, run_to_plain
from ..model.serialize import plain
from ..model.types import BatchMetadata, BatchResult, SingleRunResult

if TYPE_CHECKING:
    import pandas as pd

    from .analysis.paired import Comparison

__all__ = ["DEFAULT_PATH", "HistoryStore"]

logger = logging.getLogger("russo_nb")

DEFAULT_PATH = ".russo/history.sqlite"
SCHEMA_VERSION = 2
DEFAULT_TIMEOUT = 5.0
"""Seconds to wait for another process's lock before giving up with :class:`StoreBusyError`."""


def _run_sql_columns() -> list[tuple[str, str]]:
    """The run columns the store keeps as SQL columns (of prompt and scenario runs), from the one declaration."""
    return list({spec.name: (spec.name, spec.sql) for spec in run_table() if spec.sql}.values())


def _sql_specs(kind: str) -> list[Any]:
    """The SQL columns a ``kind`` batch's runs fill (the others stay NULL)."""
    return [spec for spec in run_table() if spec.sql and kind in spec.kinds]


def _insert_run(kind: str) -> str:
    """The INSERT of one run row: batch id, sequence number, the kind's SQL columns, the run as JSON."""
    names = ["batch_id", "seq", *(spec.name for spec in _sql_specs(kind)), "run_json"]
    return f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def _schema() -> str:
    """The store's tables (the runs table with the declared SQL columns)."""
    return (
        """
CREATE TABLE IF NOT EXISTS batches (
    batch_id     TEXT PRIMARY KEY,
    suite        TEXT,
    name         TEXT,
    kind         TEXT,
    agent        TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    recorded_at  TEXT NOT NULL,
    total        INTEGER NOT NULL,
    passed       INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    pass_rate    REAL,
    match_rate   REAL,
    params       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    batch_id    TEXT NOT NULL REFERENCES batches(batch_id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
"""
        + "".join(f"    {name:<11} {kind},\n" for name, kind in _run_sql_columns())
        + """    run_json    TEXT NOT NULL,
    PRIMARY KEY (batch_id, seq)
);
CREATE INDEX IF NOT EXISTS runs_prompt ON runs(prompt_id);
CREATE INDEX IF NOT EXISTS batches_suite ON batches(suite, started_at);
CREATE TABLE IF NOT EXISTS audio (
    batch_id     TEXT NOT NULL REFERENCES batches(batch_id) ON DELETE CASCADE,
    audio_key    TEXT NOT NULL,
    format       TEXT,
    sample_rate  INTEGER,
    channels     INTEGER,
    sample_width INTEGER,
    data         BLOB NOT NULL,
    PRIMARY KEY (batch_id, audio_key)
);
"""
    )


_REQUIRED = {
    "batches": {"batch_id", "suite", "total", "passed", "params", "recorded_at"},
    "runs": {"batch_id", "seq", "prompt", "status", "passed", "run_json"},
}


def _sql_value(value: Any) -> Any:
    """A cell as SQLite takes it: bools as 0/1, text with lone surrogates escaped, integers beyond
    SQLite's 64 bits (a usage of 10**30 an agent reported) as floats."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)
    if isinstance(value, str):
        from ..model.serialize import safe_text

        return safe_text(value)
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


_ESCAPED_PAIR = re.compile(r"\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}")
"""A high then a low surrogate escape: ASCII-escaped JSON writes both a character beyond U+FFFF and two lone
surrogates side by side so, and reads it back as the one character."""


def _stored_json(run: Any) -> str | bytes:
    """A run's JSON as the store keeps it: text, or (when that text holds an escaped surrogate pair) the JSON
    unescaped as UTF-8 bytes with lone surrogates passed through, which read back as the two lone surrogates they
    were (and a character beyond U+FFFF as itself)."""
    text = run_json(run)
    if not _ESCAPED_PAIR.search(text):
        return text
    raw = json.dumps(plain(run_to_plain(run)), ensure_ascii=False, separators=(",", ":"), default=repr)
    return raw.encode("utf-8", "surrogatepass")


def _stored_text(value: str | bytes) -> str:
    """The JSON text of a stored run (see :func:`_stored_json`)."""
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def _load_run(text: str) -> SingleRunResult:
    """A stored run back; JSON the fast parser refuses (lone surrogates) goes through ``json``."""
    try:
        return SingleRunResult.model_validate_json(text)
    except ValueError:
        return SingleRunResult.model_validate(json.loads(text))


def _storable(result: Any) -> Any:
    """The batch as the store keeps it: a BatchResult, or a ScenarioBatch with its scenario runs as they are."""
    if isinstance(result, BatchResult):
        return result
    if getattr(getattr(result, "metadata", None), "kind", None) == "scenarios" and hasattr(result, "runs"):
        return result
    from ..model.types import as_batch_result

    return as_batch_result(result)


def _kind(result: Any) -> str:
    """``scenarios`` for a scenario batch, else ``prompts``."""
    return "scenarios" if getattr(result.metadata, "kind", None) == "scenarios" else "prompts"


def _is_scenario_json(text: str) -> bool:
    """True for a stored scenario run, False for a prompt run: a prompt run's JSON starts with its prompt, written
    by pydantic or by :func:`~russo_nb.model.run_fields.run_to_plain` (a scenario run's starts with the verdict from
    pydantic, with its run index from ``run_to_plain``, the fallback for a lone surrogate)."""
    return not text.startswith('{"prompt"')


def _load_scenario_run(text: str, clips: dict[str, Any]) -> Any:
    """A stored scenario run back; its clips (kept by key in the run's JSON) from the batch's stored audio."""
    from ..scenario.result import ScenarioResult

    data = json.loads(text)
    keys = data.pop("audio", None) or []
    run = ScenarioResult.model_validate(data)
    run.audio = {key: clips[key] for key in keys if key in clips}
    return run


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _empty_or_sqlite(path: Path) -> bool:
    """True when ``path`` is missing, empty or starts as a SQLite database does (what may become a store)."""
    if not path.is_file():  # missing (a new store), or no regular file: sqlite's own error says so
        return True
    try:
        with open(path, "rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except OSError:
        return True  # unreadable: sqlite's own error says so when the store is opened
    return not head or head == _SQLITE_MAGIC


class HistoryStore:
    """Batches recorded in a SQLite file (default ``.russo/history.sqlite``).

    ``record(result, suite=)`` stores a batch, ``list()`` shows the newest, ``load(id)``
    gives the BatchResult back, ``compare(a, b)`` runs a paired comparison, and
    ``trend(prompt=, suite=)`` gives the pass rate over time.
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        self.timeout = timeout
        if self.path.exists() and self.path.is_dir():
            raise InvalidArgumentError(f"history store path {str(self.path)!r} is a directory; give a file path")
        if not _empty_or_sqlite(self.path):  # SQLite would take a 1-byte text file for a new database, and write
            raise InvalidArgumentError(
                f"{str(self.path)!r} is not a russo_nb history store (not a SQLite file); point HistoryStore at "
                "another file"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only folder, a file where the folder should be
            raise InvalidArgumentError(
                f"cannot create the history store {str(self.path)!r} ({exc.strerror or exc}); give another path"
            ) from None
        with self._connect() as conn:
            self._check_schema(conn)
            conn.executescript(_schema())
            self._add_missing_columns(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def existing(cls, path: str | Path = DEFAULT_PATH, **options: Any) -> HistoryStore | None:
        """The store at ``path`` to read from, or None where nothing was ever recorded (no file there).

        Listing or opening a recorded batch (``russo history``, ``%russo history``) creates no store;
        only recording does.
        """
        return cls(path, **options) if Path(path).exists() else None

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """A file holding other tables named like ours (another program's database) is refused, not altered."""
        for table, required in _REQUIRED.items():
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if columns and not required <= columns:
                raise InvalidArgumentError(
                    f"{str(self.path)!r} is not a russo_nb history store (its {table!r} table lacks "
                    f"{', '.join(sorted(required - columns))}); point HistoryStore at another file"
                )

    @staticmethod
    def _add_missing_columns(conn: sqlite3.Connection) -> None:
        """Stores made by an older russo_nb get the run columns added since (NULL for their runs)."""
        have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        for name, kind in _run_sql_columns():
            if name not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise InvalidArgumentError(f"cannot open history store {str(self.path)!r}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode and str(mode[0]).lower() != "wal":
                logger.warning("history store %s: WAL not available (journal_mode=%s)", self.path, mode[0])
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusyError(
                    f"history store {str(self.path)!r} is locked by another process (waited {self.timeout:g} s); "
                    "nothing was written to it — try again, or give another file"
                ) from None
            raise InvalidArgumentError(f"history store {str(self.path)!r}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise InvalidArgumentError(
                f"{str(self.path)!r} is not a russo_nb history store ({exc}); point HistoryStore at another file"
            ) from None
        finally:
            conn.close()

    # -- writing ------------------------------------------------------------------------------

    def record(self, result: Any, suite: str | None = None, *, include_audio: bool = False) -> str:
        """Store ``result`` in one transaction and return its batch id.

        Raises InvalidArgumentError when a batch with that id is already recorded (ids are
        unique per batch), or when a run cannot be serialized; nothing is written then.
        """
        result = _storable(result)
        meta = result.metadata
        batch_id = meta.batch_id
        total = len(result.runs)
        counts = result.status_counts
        passed = counts.get("passed", 0)
        finished = total - counts.get("cancelled", 0)  # cancelled runs are never failures: not in the rate
        errors = counts.get("error", 0) + counts.get("timeout", 0)
        match = sum(run.match_rate for run in result.runs) / total if total else None
        batch_row = (
            batch_id,
            suite,
            meta.name,
            meta.kind,
            meta.agent,
            _iso(meta.started_at),
            _iso(meta.finished_at),
            datetime.now(timezone.utc).isoformat(),
            total,
            passed,
            errors,
            passed / finished if finished else None,
            match,
            meta.model_dump_json(),
        )
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                exists = conn.execute("SELECT 1 FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
                if exists:
                    raise InvalidArgumentError(
                        f"batch {batch_id!r} is already recorded in {str(self.path)!r}; "
                        "each batch is recorded once (run it again for a new batch id)"
                    )
                conn.execute("INSERT INTO batches VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch_row)
                conn.executemany(_insert_run(_kind(result)), self._run_rows(batch_id, result))
                if include_audio:
                    conn.executemany(
                        "INSERT INTO audio VALUES (?,?,?,?,?,?,?)",
                        (
                            (batch_id, key, clip.format, clip.sample_rate, clip.channels, clip.sample_width, clip.data)
                            for key, clip in result.audio.items()
                        ),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        logger.info("recorded batch %s (%d runs) in %s", batch_id, total, self.path)
        return batch_id

    @staticmethod
    def _run_rows(batch_id: str, result: Any) -> Iterator[tuple[Any, ...]]:
        """One row per run: the batch kind's SQL columns (see run_fields.run_table) and the run as JSON."""
        specs = _sql_specs(_kind(result))
        cells = table_columns(result.runs, specs, result.metadata)
        columns = [cells[spec.name] for spec in specs]
        for seq, (run, values) in enumerate(zip(result.runs, zip(*columns))):
            try:
                text = _stored_json(run)
            except Exception as exc:
                raise InvalidArgumentError(
                    f"run {seq} ({run.prompt!r}, run {run.run_index}) cannot be stored: {exc}; "
                    "nothing of this batch was written"
                ) from None
            yield (batch_id, seq, *(_sql_value(value) for value in values), text)

    def delete(self, batch_id: str) -> None:
        """Remove one batch and its runs."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
            conn.execute("COMMIT")
        if cursor.rowcount == 0:
            raise self._unknown(batch_id)

    # -- reading ------------------------------------------------------------------------------

    def _unknown(self, batch_id: str) -> UnknownNameError:
        with self._connect() as conn:
            recent = [row[0] for row in conn.execute("SELECT batch_id FROM batches ORDER BY recorded_at DESC LIMIT 5")]
        hint = f" Recent batches: {', '.join(recent)}." if recent else " The store is empty."
        return UnknownNameError(f"no batch {batch_id!r} in {str(self.path)!r}.{hint}")

    def _resolve(self, conn: sqlite3.Connection, batch_id: str) -> str:
        """Accept a full id or a unique prefix of one (an empty id names no batch)."""
        if not isinstance(batch_id, str) or not batch_id.strip():
            raise UnknownNameError(f"no batch id given ({batch_id!r}); pass an id from HistoryStore.list()")
        row = conn.execute("SELECT batch_id FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        if row:
            return row[0]
        rows = conn.execute(
            "SELECT batch_id FROM batches WHERE batch_id LIKE ? ESCAPE '\\' LIMIT 2",
            (batch_id.replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        raise self._unknown(batch_id)

    def list(self, limit: int = 20, suite: str | None = None) -> pd.DataFrame:
        """The newest ``limit`` batches, newest first: id, suite, name, agent, times, runs, pass rate."""
        import pandas as pd

        query = (
            "SELECT batch_id, suite, name, agent, kind, started_at, finished_at, total AS runs, passed, errors, "
            "pass_rate, match_rate FROM batches"
        )
        params: list[Any] = []
        if suite is not None:
            query += " WHERE suite = ?"
            params.append(suite)
        query += " ORDER BY started_at DESC, recorded_at DESC LIMIT ?"
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidArgumentError(f"limit must be a whole number >= 1, got {limit!r:.40}")
        params.append(min(limit, 2**62))  # SQLite's integers are 64-bit; more than that is "all of them"
        with self._connect() as conn:
            frame = pd.read_sql_query(query, conn, params=params)
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame

    def load(self, batch_id: str, *, include_audio: bool = True) -> Any:
        """The recorded batch equal to the one recorded (audio if it was stored): a BatchResult, or a
        ScenarioBatch of scenario runs for a scenario batch (transcripts, verdicts, scores, criteria)."""
        from ..model.types import Audio

        with self._connect() as conn:
            batch_id = self._resolve(conn, batch_id)
            params = conn.execute("SELECT params FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()[0]
            rows = conn.execute("SELECT run_json FROM runs WHERE batch_id = ? ORDER BY seq", (batch_id,)).fetchall()
            audio: dict[str, Audio] = {}
            if include_audio:
                for key, fmt, rate, channels, width, data in conn.execute(
                    "SELECT audio_key, format, sample_rate, channels, sample_width, data FROM audio WHERE batch_id = ?",
                    (batch_id,),
                ):
                    audio[key] = Audio(data=data, format=fmt, sample_rate=rate, channels=channels, sample_width=width)
        metadata = BatchMetadata.model_validate_json(params)
        texts = [_stored_text(row[0]) for row in rows]
        if metadata.kind == "scenarios" and texts and _is_scenario_json(texts[0]):
            from ..scenario.batch import ScenarioBatch

            return ScenarioBatch.model_construct(
                runs=[_load_scenario_run(text, audio) for text in texts], metadata=metadata
            )
        runs = [_load_run(text) for text in texts]
        return BatchResult(runs=runs, audio=audio, metadata=metadata)

    def prompt_counts(self, batch_id: str) -> dict[str, tuple[int, int]]:
        """prompt -> (passed, finished runs) for one batch, computed in SQL (cancelled runs are not counted)."""
        with self._connect() as conn:
            batch_id = self._resolve(conn, batch_id)
            rows = conn.execute(
                "SELECT prompt, SUM(passed), SUM(status != 'cancelled') FROM runs WHERE batch_id = ? "
                "GROUP BY prompt ORDER BY MIN(seq)",
                (batch_id,),
            ).fetchall()
        return {prompt: (int(passed), int(count)) for prompt, passed, count in rows}

    def compare(self, a: str, b: str, **options: Any) -> Comparison:
        """Paired comparison of batch ``b`` against batch ``a`` over their shared prompts (B − A)."""
        from .analysis.paired import paired_comparison

        return paired_comparison(self.prompt_counts(a), self.prompt_counts(b), **options)

    def trend(
        self,
        prompt: str | None = None,
        suite: str | None = None,
        agent: str | None = None,
        *,
        where: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Pass rate per recorded batch over time (oldest first), optionally for one prompt or suite.

        Columns: batch_id, suite, name, agent, started_at, finished_at, runs (finished runs: cancelled

        """
        import pandas as pd

        from .analysis.stats import wilson_interval

        if where:
            return self._condition_trend(prompt, suite, agent, where)
        where, params = [], []
        if suite is not None:
            where.append("b.suite = ?")
            params.append(suite)
        if agent is not None:
            where.append("b.agent = ?")
            params.append(agent)
        if prompt is None:
            query = (
                "SELECT b.batch_id, b.suite, b.name, b.agent, b.started_at, b.finished_at, "
                "b.total - (SELECT COUNT(*) FROM runs c WHERE c.batch_id = b.batch_id AND c.status = 'cancelled') "
                "AS runs, b.passed FROM batches b"
            )
        else:
            where.append("(r.prompt = ? OR r.prompt_id = ?)")
            params += [prompt, prompt]
            query = (
                "SELECT b.batch_id, b.suite, b.name, b.agent, b.started_at, b.finished_at, "
                "SUM(r.status != 'cancelled') AS runs, "
                "SUM(r.passed) AS passed FROM batches b JOIN runs r ON r.batch_id = b.batch_id"
            )
        if where:
            query += " WHERE " + " AND ".join(where)
        if prompt is not None:
            query += " GROUP BY b.batch_id"
        query += " ORDER BY b.started_at, b.recorded_at"
        with self._connect() as conn:
            frame = pd.read_sql_query(query, conn, params=params)
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        frame["runs"] = frame["runs"].astype("int64")
        frame["passed"] = frame["passed"].fillna(0).astype("int64")
        frame["pass_rate"] = frame["passed"] / frame["runs"].where(frame["runs"] > 0)
        if len(frame) and prompt is not None:
            low, high = wilson_interval(frame["passed"].to_numpy(), frame["runs"].to_numpy())
            frame["low"], frame["high"] = low, high
        elif len(frame):
            frame["low"], frame["high"] = self._clustered_bounds(frame["batch_id"].tolist())
        else:
            frame["low"], frame["high"] = [], []
        return frame

    def _condition_trend(
        self, prompt: str | None, suite: str | None, agent: str | None, where: dict[str, Any]
    ) -> pd.DataFrame:
        """:meth:`trend` over the runs whose conditions match ``where`` (read from the stored conditions).

        Each batch's interval is clustered by prompt over the matching runs, as :meth:`trend`'s is.
        """
        import pandas as pd

        from ..model.conditions import check_conditions, same_conditions
        from .analysis.rows import prompt_rows
        from .analysis.stats import clustered_se

        wanted = check_conditions(where, "where")
        clauses, params = ["r.conditions IS NOT NULL", "r.conditions != ''"], []
        for column, value in (("b.suite", suite), ("b.agent", agent)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if prompt is not None:
            clauses.append("(r.prompt = ? OR r.prompt_id = ?)")
            params += [prompt, prompt]
        query = (
            "SELECT b.batch_id, b.suite, b.name, b.agent, b.started_at, b.finished_at, b.recorded_at, "
            "r.prompt, r.status, r.conditions FROM batches b JOIN runs r ON r.batch_id = b.batch_id WHERE "
            + " AND ".join(clauses)
        )
        with self._connect() as conn:
            rows = conn.execute(query, params).fetchall()
        matches: dict[str, bool] = {}
        batches: dict[str, dict[str, Any]] = {}
        for batch_id, suite_name, name, agent_name, started, finished, recorded, text, status, stored in rows:
            keep = matches.get(stored)
            if keep is None:
                conditions = json.loads(stored)
                keep = matches[stored] = same_conditions({k: conditions.get(k) for k in wanted}, wanted)
            if not keep:
                continue
            entry = batches.setdefault(
                batch_id,
                {
                    "batch_id": batch_id,
                    "suite": suite_name,
                    "name": name,
                    "agent": agent_name,
                    "started_at": started,
                    "finished_at": finished,
                    "recorded_at": recorded,
                    "prompts": [],
                    "statuses": [],
                },
            )
            entry["prompts"].append(text)
            entry["statuses"].append(status)
        ordered = sorted(batches.values(), key=lambda e: (e["started_at"] or "", e["recorded_at"]))
        for entry in ordered:  # the one per-prompt aggregation: cancelled runs counted, never scored
            runs = pd.DataFrame({"prompt": entry.pop("prompts"), "status": entry.pop("statuses")})
            per_prompt = [(row.passed, row.finished) for row in prompt_rows(runs) if row.finished]
            entry["passed"] = sum(c for c, _ in per_prompt)
            entry["runs"] = sum(n for _, n in per_prompt)
            if entry["runs"]:
                interval = clustered_se([c for c, _ in per_prompt], [n for _, n in per_prompt])
                entry["low"], entry["high"] = interval.low, interval.high
            else:
                entry["low"], entry["high"] = 0.0, 1.0
        columns = ["batch_id", "suite", "name", "agent", "started_at", "finished_at", "runs", "passed"]
        frame = pd.DataFrame(ordered).reindex(columns=[*columns, "low", "high"])
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        frame["runs"] = frame["runs"].astype("int64")
        frame["passed"] = frame["passed"].astype("int64")
        frame["pass_rate"] = frame["passed"] / frame["runs"].where(frame["runs"] > 0)
        frame = frame[[*columns, "pass_rate", "low", "high"]]
        frame.attrs["where"] = dict(wanted)
        return frame

    def _clustered_bounds(self, batch_ids: list[str]) -> tuple[list[float], list[float]]:
        """Each batch's pass-rate interval clustered by prompt, from its per-prompt finished runs and passes
        (the one per-prompt aggregation, :func:`~russo_nb.results.analysis.rows.prompt_rows`, split by batch:
        prompts none of whose runs finished are no cluster, as in the batch's own view)."""
        import pandas as pd

        from .analysis.rows import prompt_rows
        from .analysis.stats import clustered_se

        with self._connect() as conn:
            runs = pd.read_sql_query("SELECT batch_id, prompt, status FROM runs", conn)
        counts: dict[str, tuple[list[int], list[int]]] = {}
        for row in prompt_rows(runs, by="batch_id", measures=False):
            if row.finished:
                entry = counts.setdefault(row.conditions["batch_id"], ([], []))
                entry[0].append(row.passed)
                entry[1].append(row.finished)
        lows, highs = [], []
        for batch_id in batch_ids:
            passed, finished = counts.get(batch_id, ([], []))
            if sum(finished):
                interval = clustered_se(passed, finished)
                lows.append(interval.low)
                highs.append(interval.high)
            else:
                lows.append(0.0)
                highs.append(1.0)
        return lows, highs

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0])

    def check(self) -> dict[str, Any]:
        """SQLite's integrity check plus: every batch has exactly ``total`` runs stored."""
        with self._connect() as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            mismatched = conn.execute(
                "SELECT b.batch_id FROM batches b LEFT JOIN runs r ON r.batch_id = b.batch_id "
                "GROUP BY b.batch_id HAVING COUNT(r.batch_id) != MAX(b.total)"
            ).fetchall()
            orphans = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE batch_id NOT IN (SELECT batch_id FROM batches)"
            ).fetchone()[0]
        return {
            "integrity": integrity,
            "incomplete_batches": [row[0] for row in mismatched],
            "orphan_runs": int(orphans),
            "ok": integrity == "ok" and not mismatched and not orphans,
        }
