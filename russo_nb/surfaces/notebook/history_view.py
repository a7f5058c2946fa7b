"""The history store in a notebook: a readable table of recorded batches, a dated trend with
batch names on its points, and an "Open" button per batch that loads it into the namespace
and the explorer (``%russo history open ID`` does the same from a cell).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...results.view.kit import STYLE, escape_text, pct
from .snapshot import display_with_snapshot

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HistoryView",
    "batch_label",
    "draw_trend",
    "history_html",
    "history_table_html",
    "trend_png",
    "trend_svg",
    "variable_for",
]

MAX_POINT_LABELS = 12
"""Above this many batches the trend names only the first, last, best and worst points (the table names all)."""


def _text(value: Any) -> str:
    """A cell's text: '' for None / NaN / NaT (never the word "None")."""
    if value is None:
        return ""
    try:
        if value != value:  # NaN, NaT
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _date(value: Any) -> str:
    if not _text(value):
        return ""
    try:
        return value.strftime("%Y-%m-%d %H:%M")
    except AttributeError:
        return str(value)


def _clipped(text: str) -> str:
    """A grid cell's text kept inside its column (cut with "…", the whole text in the tooltip)."""
    return (
        f"<div style='overflow:hidden;text-overflow:ellipsis;white-space:nowrap' title='{escape_text(text, 500)}'>"
        f"{escape_text(text, 200)}</div>"
    )


def batch_label(row: Any) -> str:
    """What to call a recorded batch: its name, else its suite, else its id."""
    for key in ("name", "suite", "batch_id"):
        text = _text(row.get(key) if hasattr(row, "get") else getattr(row, key, None))
        if text:
            return text
    return "?"


def variable_for(batch_id: str) -> str:
    """The default namespace variable a loaded batch goes into: ``batch_<first 8 of its id>``."""
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in batch_id[:8])
    return f"batch_{cleaned}"


def history_table_html(frame: pd.DataFrame) -> str:
    """The recorded batches (``HistoryStore.list()``) as a table with minutes-resolution dates and no "None"s."""
    if frame is None or len(frame) == 0:
        return f"{STYLE}<div class='russo muted'>No batches recorded.</div>"
    rows = []
    for row in frame.to_dict("records"):
        rate = row.get("pass_rate")
        rate_text = pct(float(rate)) if _text(rate) else ""
        suite = _text(row.get("suite"))
        name = _text(row.get("name"))
        rows.append(
            f"<tr><td>{escape_text(_date(row.get('started_at')))}</td>"
            f"<td><b>{escape_text(name or suite or '(unnamed)', 80)}</b>"
            + (
                f" <span class='muted'>suite {escape_text(suite, 60)}</span>"
                if suite and name and suite != name
                else ""
            )
            + f"</td><td>{escape_text(_text(row.get('agent')), 60)}</td><td class='num'>{_text(row.get('runs'))}</td>"
            f"<td class='num'>{rate_text}</td><td><code>{escape_text(_text(row.get('batch_id')))}</code></td></tr>"
        )
    head = (
        "<tr><th>Started (UTC)</th><th>Batch</th><th>Agent</th><th class='num'>Runs</th>"
        "<th class='num'>Pass rate</th><th>Id</th></tr>"
    )
    return f"{STYLE}<div class='russo russo-history'><table>{head}{''.join(rows)}</table></div>"


def draw_trend(frame: pd.DataFrame, ax: Any) -> Any:
    """Pass rate per recorded batch against its date, the 95% band, and batch names on the points."""
    import matplotlib.dates as mdates

    data = frame.sort_values("started_at") if "started_at" in frame.columns else frame
    dated = "started_at" in data.columns and len(data) > 0
    seconds = (data["started_at"].max() - data["started_at"].min()).total_seconds() if dated else 0.0
    # batches minutes apart or less: one tick per batch, in order (a date axis gave four identical ticks)
    by_order = not dated or seconds < 600
    x = list(range(len(data))) if by_order else data["started_at"].dt.tz_convert(None)
    ax.plot(x, data["pass_rate"], marker="o", lw=1.5)
    if {"low", "high"} <= set(data.columns):
        ax.fill_between(x, data["low"], data["high"], alpha=0.2, label="95% interval")
    labels = [batch_label(row) for row in data.to_dict("records")]
    rates = data["pass_rate"].to_numpy()
    named = set(range(len(labels)))
    if len(labels) > MAX_POINT_LABELS and len(rates):
        named = {0, len(labels) - 1, int(rates.argmin()), int(rates.argmax())}
    shown = 0
    for position, (xv, rate, label) in enumerate(zip(x, rates, labels, strict=True)):
        if position in named and rate == rate:
            short = label if len(label) <= 18 else label[:17] + "…"
            # neighbours alternate above and below their points, so close labels do not overlap
            offset = (0, 7) if shown % 2 == 0 or rate > 0.9 else (0, -13)
            ax.annotate(short, (xv, rate), textcoords="offset points", xytext=offset, ha="center", fontsize=7)
            shown += 1
    if by_order:
        ticks = list(range(len(data)))
        step = max(1, len(ticks) // 8)
        ax.set_xticks(ticks[::step])
        if dated:
            times = data["started_at"].dt.tz_convert(None).dt.strftime("%H:%M:%S").tolist()
            ax.set_xticklabels(times[::step])
        ax.set_xlim(-0.5, len(data) - 0.5)
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    else:
        fmt = "%b %d %H:%M" if seconds <= 3 * 86400 else "%Y-%m-%d"
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=6))
        ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("pass rate")
    ax.set_xlabel("batch, in the order started (UTC time)" if by_order else "batch started (UTC)")
    ax.set_title(f"pass rate over {len(data)} recorded batches")
    return ax


def trend_png(frame: pd.DataFrame) -> bytes:
    """The trend chart as PNG bytes."""
    from .figures import figure_png

    return figure_png(draw_trend, frame, size=(7.0, 3.4))


def trend_svg(frame: pd.DataFrame) -> str:
    """The trend chart as inline SVG in the page's text colour (readable in light and dark themes)."""
    from .figures import figure_svg

    return figure_svg(draw_trend, frame, size=(8.0, 3.6))


def history_html(frame: pd.DataFrame, trend: pd.DataFrame | None = None) -> str:
    """The recorded batches and their trend as static HTML (no kernel needed)."""
    chart = ""
    if trend is not None and len(trend) > 1:
        chart = f"<div class='russo chart russo-trend'>{trend_svg(trend)}</div>"
    return history_table_html(frame) + chart


class HistoryView:
    """Recorded batches with an Open button each, the trend chart, and an area where an opened batch shows.

    ``on_open(batch_id)`` loads and shows a batch (the magic puts it in the namespace first);
    without one the view loads it from the store and shows its explorer itself.
    """

    def __init__(
        self,
        store: Any,
        *,
        limit: int = 20,
        on_open: Callable[[str], Any] | None = None,
        chart: bool = True,
    ) -> None:
        import ipywidgets as widgets

        self.store = store
        self.frame = store.list(limit=limit)
        self.on_open = on_open
        self.output = widgets.Output()
        self.buttons: dict[str, Any] = {}
        cells: list[Any] = []
        for header in ("", "Started (UTC)", "Batch", "Agent", "Runs", "Pass rate", "Id"):
            cells.append(widgets.HTML(value=f"<b>{header}</b>"))
        for row in self.frame.to_dict("records"):
            batch_id = str(row["batch_id"])
            button = widgets.Button(description="Open", icon="folder-open", layout=widgets.Layout(width="80px"))
            button.tooltip = f"load batch {batch_id} into the namespace and the explorer"
            button.on_click(lambda _, b=batch_id: self.open(b))
            self.buttons[batch_id] = button
            rate = row.get("pass_rate")
            cells += [
                button,
                widgets.HTML(value=escape_text(_date(row.get("started_at")))),
                widgets.HTML(value=f"<b>{escape_text(batch_label(row), 80)}</b>"),
                widgets.HTML(value=_clipped(_text(row.get("agent"))), layout=widgets.Layout(min_width="0")),
                widgets.HTML(value=f"<div style='text-align:right'>{_text(row.get('runs'))}</div>"),
                widgets.HTML(value=pct(float(rate)) if _text(rate) else ""),
                widgets.HTML(value=f"<code>{escape_text(batch_id)}</code>"),
            ]
        grid = widgets.GridBox(
            cells,
            layout=widgets.Layout(
                grid_template_columns="90px 140px minmax(160px, 2fr) minmax(120px, 1fr) 70px 80px 120px",
                grid_gap="2px 12px",
                align_items="center",
            ),
        )
        grid.add_class("russo-history")
        parts: list[Any] = [grid]
        self.trend = store.trend() if chart and len(self.frame) > 1 else None
        if self.trend is not None and len(self.trend) > 1:
            image = widgets.HTML(value=f"{STYLE}<div class='russo chart russo-trend'>{trend_svg(self.trend)}</div>")
            parts.append(image)
        parts.append(self.output)
        self.widget = widgets.VBox(parts)
        self.widget.add_class("russo-history-view")

    def snapshot_html(self) -> str:
        """The recorded batches and the trend without a kernel (the Open buttons need one)."""
        return (
            f"{STYLE}<div class='russo russo-static russo-history-static'><div class='muted'>russo history — static "
            "snapshot (run the cell with a kernel to open a batch)</div></div>" + history_html(self.frame, self.trend)
        )

    def _ipython_display_(self) -> None:
        """The static snapshot, then the live view (see :mod:`.snapshot`)."""
        display_with_snapshot(self.widget, self.snapshot_html(), f"russo history: {len(self.frame)} recorded batches")

    def open(self, batch_id: str) -> Any:
        """Load batch ``batch_id`` and show it below the table."""
        from IPython.display import display

        self.output.clear_output()
        with self.output:
            try:
                if self.on_open is not None:
                    return self.on_open(batch_id)
                from .explorer import explore

                batch = self.store.load(batch_id)
                display(explore(batch))
                return batch
            except Exception as exc:  # shown where the user clicked, not lost in the log
                from .namespace import report_error

                report_error(f"cannot open batch {batch_id}: {type(exc).__name__}: {exc}")
                return None
