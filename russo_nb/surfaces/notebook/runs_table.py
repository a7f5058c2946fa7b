"""The runs table: every run of a batch, sortable, searchable, filtered and paged.

The table is a DataFrame built once (:func:`runs_table_frame`); filters, search and sorting
are vectorized operations on it and only the visible page is turned into widget rows, so a
100,000-run batch stays interactive. Rows are a listbox (``ipywidgets.Select``): clicking a
row opens it; the ↑ / ↓ keys (routed by :class:`~.run_keys.RunKeys`, since JupyterLab's
command mode would take them) and the opened run's ▲ / ▼ buttons walk the listed order,
turning pages at a page's ends. Column headers are buttons: click to sort, click again to reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...model import run_fields
from ...model.columns import field, field_cells
from ...model.conditions import conditions_text
from ...model.types import RetriedAttempt
from ...results.analysis.words import response_heard
from ...results.view.kit import STYLE, middle
from .run_detail import noun_of, runs_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DERIVED_AFTER",
    "PAGE_SIZES",
    "RunsBrowser",
    "RunsTable",
    "TableColumn",
    "runs_table_frame",
    "shown_columns",
]

PAGE_SIZES = (10, 25, 50, 100, 200)
ALL = -1
"""The value of "all prompts" / the dropdowns' catch-all choice (a real value, so the choice shows)."""
NBSP = "\u00a0"


@dataclass(frozen=True)
class TableColumn:
    """A column of the runs table: frame column, header label, width in characters, numeric or text.

    ``shown``, when set, is the frame column displayed in the cell while ``key`` is what the
    column sorts by (the attempts column sorts by the count and shows what was retried).
    """

    key: str
    label: str
    width: int
    numeric: bool = False
    shown: str | None = None
    whole: bool = True


DERIVED_AFTER: dict[str, tuple[TableColumn, ...]] = {
    "status": (
        TableColumn("differs", "what differed / agent called", 36),
        TableColumn("heard", "heard (voice)", 22),
    ),
}
"""The table's own columns (not a run field's), shown right after the field they follow."""


def shown_columns() -> tuple[TableColumn, ...]:
    """The columns of the runs table: each run field declared ``shown`` (:data:`russo_nb.model.run_fields.FIELDS`),
    in declaration order, with the table's own columns (:data:`DERIVED_AFTER`) after the field they follow.

    About 150 characters of 12px monospace: the whole row fits 1400 px without scrolling. A failed
    run shows the argument that differs (``to_city: 'LA' → 'Boston'``), an errored one its error, a
    passed one the call it made; long prompts are cut in the middle (variants differ at the end).
    """
    out: list[TableColumn] = []
    for spec in run_fields.FIELDS:
        if spec.shown is None:
            continue
        numeric = spec.dtype in ("int", "Int64", "float")
        out.append(
            TableColumn(
                spec.name,
                spec.shown.label,
                spec.shown.width,
                numeric=numeric,
                shown=spec.shown.cell,
                whole=spec.dtype != "float",
            )
        )
        out.extend(DERIVED_AFTER.get(spec.name, ()))
    return tuple(out)


def runs_table_frame(result: Any) -> pd.DataFrame:
    """One row per run with the table's columns, its position in ``result.runs`` and a search key.

    Columns: index, prompt, run_index, status, expected, actual (what the agent called),
    heard (the voice agent's transcription, '' when none), latency_s, attempts,
    attempts_text (``2 ↻ ConnectionError``: the count and the last retried error's type),
    retried (each earlier attempt's ``type: message``), error_type, error, prompt_code (the
    prompt's position among the distinct prompts), conditions (``voice=en-us · snr_db=10``, '' for
    none) and ``search`` (lower-cased prompt, heard text, calls, error, retried errors and
    conditions, for substring search).
    """
    import numpy as np
    import pandas as pd

    from ...results.analysis import runs_frame

    runs = runs_of(result)
    base = runs_frame(result)
    # one field each, from the stored columns when the runs are kept as columns (no run is built)
    heard = field_cells(runs, field("response"), lambda response: response_heard(response) or "")
    conditions = field_cells(runs, field("conditions"), conditions_text)
    retried = field_cells(runs, field("retried"), lambda earlier: earlier or ())
    frame = pd.DataFrame(
        {
            "index": np.arange(len(base), dtype=np.int64),
            "prompt": base["prompt"].astype(str),
            "run_index": base["run_index"],
            "status": base["status"].astype(str),
            "expected": base["expected"].astype(str),
            "actual": base["actual"].astype(str),
            "heard": heard,
            "latency_s": base["latency_s"],
            "attempts": base["attempts"],
            "attempts_text": [
                _attempts_text(count, earlier) for count, earlier in zip(base["attempts"].tolist(), retried)
            ],
            "retried": ["\n".join(str(attempt) for attempt in earlier) if earlier else "" for earlier in retried],
            "error_type": base["error_type"].astype(str),
            "error": base["error"].astype(str),
            "conditions": conditions,
        }
    )
    for column in shown_columns():  # a run field the table shows that it does not make itself
        if column.key not in frame.columns and column.key in base.columns:
            frame[column.key] = base[column.key]
    frame["differs"] = _differs(frame)
    frame["prompt_code"] = pd.factorize(frame["prompt"], sort=False)[0]
    frame["search"] = (
        frame["prompt"]
        + "\n"
        + frame["heard"]
        + "\n"
        + frame["expected"]
        + "\n"
        + frame["actual"]
        + "\n"
        + frame["error_type"]
        + "\n"
        + frame["error"]
        + "\n"
        + frame["retried"]
        + "\n"
        + frame["conditions"]
    ).str.lower()
    return frame


def _differs(frame: pd.DataFrame) -> list[str]:
    """Per run: the differing argument (failed), ``Type: message`` (error / timeout), or the call made (passed).

    Computed once per distinct (status, expected, called, error) combination, so a 100k-run batch
    costs as many parses as it has kinds of outcome.
    """
    from ...results.view.signature import calls_difference

    seen: dict[tuple[str, str, str, str, str], str] = {}
    out = []
    for status, expected, actual, error_type, error in zip(
        frame["status"], frame["expected"], frame["actual"], frame["error_type"], frame["error"], strict=True
    ):
        key = (status, expected, actual, error_type, error)
        text = seen.get(key)
        if text is None:
            if error_type and error_type not in ("None", "nan"):
                first = error.splitlines()[0] if error and error not in ("None", "nan") else ""
                text = f"{error_type}: {first}" if first and not first.startswith(error_type) else first or error_type
            elif status in ("passed", "cancelled"):
                text = actual or "(no call)"
            else:
                text = calls_difference(expected, actual) or actual or "(no call)"
            seen[key] = text
        out.append(text)
    return out


def _attempts_text(count: Any, retried: Sequence[RetriedAttempt]) -> str:
    """``2 ↻ ConnectionError``: the attempts a run took and, when earlier ones failed, the last one's error type."""
    text = "" if count is None or count != count else str(int(count))
    if retried:
        text += f" ↻ {retried[-1].type or 'error'}"
    return text


def _cell(value: Any, column: TableColumn) -> str:
    if column.numeric and column.shown is None:
        if value is None or value != value:  # NaN
            text = ""
        elif not column.whole:  # seconds (``latency_s``) as ``0.42s``
            text = f"{float(value):.2f}" + ("s" if column.key.endswith("_s") else "")
        else:
            text = str(int(value))
    else:
        text = " ".join(str(value).split()) if value is not None else ""
        if column.key == "actual" and not text:
            text = "(no call)"
    width = column.width
    if len(text) > width:
        text = middle(text, width) if column.key == "prompt" else text[: width - 1] + "…"
    padded = text.rjust(width) if column.numeric and column.shown is None else text.ljust(width)
    return padded.replace(" ", NBSP)


def row_label(row: Any) -> str:
    """One run as a fixed-width line (non-breaking spaces, so the browser keeps the columns)."""
    return (NBSP * 2).join(_cell(row[column.shown or column.key], column) for column in shown_columns())


class RunsTable:
    """The Runs tab's widget: search, filters, sortable headers, page size, paged rows.

    ``on_open(index)`` is called with a run's position in ``result.runs`` when a row is selected;
    ``on_relist(order)`` with the new order of listed runs whenever filters, search or sort change it.
    ``table.widget`` is the VBox to show.
    """

    def __init__(
        self,
        result: Any,
        *,
        page_size: int = 25,
        max_prompt_options: int = 500,
        on_open: Callable[[int], None] | None = None,
        on_relist: Callable[[Any], None] | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.result = result
        self.on_relist = on_relist
        self.noun = noun_of(result)
        self.frame = runs_table_frame(result)
        self.on_open = on_open
        self.sort_key: str | None = None
        self.ascending = True
        self._syncing = False
        counts = self.frame["status"].value_counts()
        status_options = [(f"all statuses ({len(self.frame):,})", "all")]
        status_options += [(f"{status} ({int(counts[status]):,})", status) for status in counts.index]
        self.status_filter = widgets.Dropdown(options=status_options, value="all", description="Status")
        prompts = self.frame.drop_duplicates("prompt_code")[["prompt_code", "prompt"]]
        per_prompt = self.frame.groupby("prompt_code").size()
        options = [(f"all {self.noun}s ({len(prompts):,})", ALL)]
        for code, prompt in prompts.head(max_prompt_options).itertuples(index=False):
            short = " ".join(prompt.split())
            short = short if len(short) <= 70 else short[:69] + "…"
            options.append((f"{short} ({int(per_prompt[code])})", int(code)))
        self.prompt_filter = widgets.Dropdown(
            options=options, value=ALL, description=self.noun.capitalize(), layout=widgets.Layout(width="48%")
        )
        by_condition = self.frame["conditions"].value_counts(sort=False)
        condition_options = [(f"all conditions ({len(self.frame):,})", ALL)]
        condition_options += [(f"{text or 'no conditions'} ({int(n):,})", text) for text, n in by_condition.items()]
        self.condition_filter = widgets.Dropdown(
            options=condition_options, value=ALL, description="Condition", layout=widgets.Layout(width="30%")
        )
        if len(by_condition) < 2:  # one set of conditions (or none): nothing to choose between
            self.condition_filter.layout.display = "none"
        self.search = widgets.Text(
            placeholder=f"search {self.noun}, heard text, calls, errors",
            description="Search",
            continuous_update=False,
            layout=widgets.Layout(width="48%"),
        )
        self.search.add_class("russo-runs-search")
        sizes = sorted({*PAGE_SIZES, page_size})
        self.page_size = widgets.Dropdown(
            options=[(f"{size} per page", size) for size in sizes],
            value=page_size,
            layout=widgets.Layout(width="130px"),
        )
        self.page = widgets.BoundedIntText(value=1, min=1, max=1, description="Page", layout={"width": "150px"})
        previous = widgets.Button(description="◀", layout=widgets.Layout(width="36px"), tooltip="previous page")
        following = widgets.Button(description="▶", layout=widgets.Layout(width="36px"), tooltip="next page")
        previous.on_click(lambda _: self.turn(-1))
        following.on_click(lambda _: self.turn(1))
        self.summary = widgets.HTML()
        self.headers: dict[str, Any] = {}
        for column in shown_columns():
            button = widgets.Button(
                description=self._label(column),
                tooltip=f"sort by {column.label}",
                layout=widgets.Layout(width=f"{column.width + 2}ch", min_width=f"{column.width + 2}ch", height="24px"),
            )
            button.on_click(lambda _, key=column.key: self.sort_by(key))
            self.headers[column.key] = button
        head = widgets.HBox(
            list(self.headers.values()),
            layout=widgets.Layout(padding="0 0 0 6px", width="max-content", min_width="100%", overflow="visible"),
        )
        head.add_class("russo-runs-head")
        self.rows = widgets.Select(
            options=[], rows=page_size, layout=widgets.Layout(width="max-content", min_width="100%")
        )
        self.rows.add_class("russo-runs-rows")
        self.rows.observe(self._selected, names="value")
        self.status_filter.observe(lambda _: self.refilter(), names="value")
        self.prompt_filter.observe(lambda _: self.refilter(), names="value")
        self.condition_filter.observe(lambda _: self.refilter(), names="value")
        self.search.observe(lambda _: self.refilter(), names="value")
        self.page_size.observe(lambda _: self.refilter(), names="value")
        self.page.observe(lambda _: self.render(), names="value")
        style = widgets.HTML(value=STYLE)  # the kit's stylesheet: the rows' and headers' monospace columns
        table = widgets.VBox([head, self.rows], layout=widgets.Layout(overflow="auto hidden", width="100%"))
        self.widget = widgets.VBox(
            [
                style,
                widgets.HBox([self.search, self.prompt_filter]),
                widgets.HBox(
                    [self.status_filter, self.condition_filter, self.page_size, previous, self.page, following]
                ),
                self.summary,
                table,
            ]
        )
        self.widget.add_class("russo-runs-table")
        self.order: Any = self.frame["index"].to_numpy()
        self.refilter()

    def _label(self, column: TableColumn) -> str:
        return self.noun if column.key == "prompt" else column.label

    # -- state -------------------------------------------------------------------------
    def filtered(self) -> pd.DataFrame:
        """The rows passing the current status, prompt, condition and search filters, in the current sort order."""
        frame = self.frame
        mask = None
        if self.status_filter.value != "all":
            mask = frame["status"] == self.status_filter.value
        if self.prompt_filter.value != ALL:
            cond = frame["prompt_code"] == self.prompt_filter.value
            mask = cond if mask is None else mask & cond
        if self.condition_filter.value != ALL:
            cond = frame["conditions"] == self.condition_filter.value
            mask = cond if mask is None else mask & cond
        term = self.search.value.strip().lower()
        if term:
            cond = frame["search"].str.contains(term, regex=False)
            mask = cond if mask is None else mask & cond
        view = frame if mask is None else frame[mask]
        if self.sort_key is not None:
            view = view.sort_values(self.sort_key, ascending=self.ascending, kind="stable", na_position="last")
        return view

    def refilter(self) -> None:
        """Apply filters, search and sort; go back to page 1."""
        self.view = self.filtered()
        self.order = self.view["index"].to_numpy()
        if self.on_relist is not None:
            self.on_relist(self.order)
        self.rows.rows = self.page_size.value
        pages = max(1, -(-len(self.view) // self.page_size.value))
        self.page.max = pages
        if self.page.value != 1:
            self.page.value = 1  # triggers render
        else:
            self.render()

    def sort_by(self, key: str) -> None:
        """Sort by column ``key``; sorting by the same column again reverses the order."""
        if self.sort_key == key:
            self.ascending = not self.ascending
        else:
            self.sort_key, self.ascending = key, True
        for column in shown_columns():
            mark = ""
            if column.key == self.sort_key:
                mark = " ▲" if self.ascending else " ▼"
            self.headers[column.key].description = self._label(column) + mark
        self.refilter()

    def turn(self, step: int) -> None:
        """Go ``step`` pages forward (or back)."""
        self.page.value = min(self.page.max, max(1, self.page.value + step))

    def render(self) -> None:
        """Show the current page's rows."""
        size = self.page_size.value
        start = (self.page.value - 1) * size
        chunk = self.view.iloc[start : start + size]
        options = [(row_label(row), int(row["index"])) for _, row in chunk.iterrows()]
        self._syncing = True
        try:
            self.rows.options = options
            self.rows.value = None
        finally:
            self._syncing = False
        total = len(self.view)
        shown = f"{start + 1:,}–{start + len(chunk):,}" if len(chunk) else "0"
        sort = ""
        if self.sort_key is not None:
            label = next(self._label(c) for c in shown_columns() if c.key == self.sort_key)
            sort = f" · sorted by {label} {'ascending' if self.ascending else 'descending'}"
        self.summary.value = (
            f"<div class='russo-runs-summary' style='font-size:12px'>runs {shown} of {total:,} matching "
            f"({len(self.frame):,} in the batch) · page {self.page.value} of {self.page.max}{sort} · "
            "click a row to open it; the ↑ / ↓ keys (or ▲ / ▼ by the opened run) move through the list</div>"
        )

    def _selected(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] is None or self.on_open is None:
            return
        self.on_open(int(change["new"]))

    def select(self, index: int) -> None:
        """Select run ``index`` (turning to its page if it is listed); opens it through ``on_open``."""
        positions = (self.order == index).nonzero()[0]
        if len(positions):
            page = int(positions[0]) // self.page_size.value + 1
            if page != self.page.value:
                self.page.value = page
        if any(value == index for _, value in self.rows.options):
            self.rows.value = index
        elif self.on_open is not None:
            self.on_open(index)


class RunsBrowser:
    """The runs table with the opened run below it: a selected row opens; ↑ / ↓ (keys or buttons) walk the list."""

    def __init__(self, result: Any, *, page_size: int = 25, max_prompt_options: int = 500) -> None:
        import ipywidgets as widgets

        from .run_detail import RunDetail
        from .run_keys import RunKeys

        self.detail = RunDetail(result, on_move=self.open, order_of=lambda: self.table.order)
        self.table = RunsTable(
            result,
            page_size=page_size,
            max_prompt_options=max_prompt_options,
            on_open=self._opened,
            on_relist=self.detail.relist,
        )
        self.keys = RunKeys(on_move=self.step)
        self.widget = widgets.VBox([self.table.widget, self.detail.widget, self.keys])
        self.widget.add_class("russo-runs-browser")

    def _opened(self, index: int) -> None:
        self.detail.show(index, self.table.order)

    def open(self, index: int) -> None:
        """Open run ``index`` (its position in ``result.runs``) and select its row."""
        self.table.select(index)
        if self.detail.index != index:
            self.detail.show(index, self.table.order)

    def step(self, step: int) -> None:
        """Open the next (+1) or previous (-1) listed run (what ↓ / ↑ do), turning pages at a page's ends.

        With no run open (or the open one filtered out), the first row of the page shown opens.
        """
        table = self.table
        self.detail.order = table.order
        if len(table.order) == 0:
            return
        if self.detail.listed_at() is None:
            first = min((table.page.value - 1) * table.page_size.value, len(table.order) - 1)
            self.open(int(table.order[first]))
            return
        self.detail.move(step)
