"""A sweep's tables as HTML, shared by the explorer's Sweep tab and the HTML report.

Pass rate by voice (and by noise level) with the interval clustered by prompt, the SNR at which
each voice falls to 90 %, and the prompt × level heatmap as a static coloured table. Everything
users or agents wrote (voice labels, prompts) is escaped.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .kit import escape_text, middle, pct, plural, table_html

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["THRESHOLD_AT", "cell_colour", "factor_table_html", "heatmap_html", "sweep_section_html", "thresholds_html"]

THRESHOLD_AT = 0.9
"""The pass rate whose SNR the sweep views read off (robustness_threshold's ``at``)."""


def factor_table_html(table: pd.DataFrame) -> str:
    """A :func:`~russo_nb.analysis.by_factor` table: level, prompts, finished runs, pass rate, interval, flaky."""
    factor = " × ".join(table.attrs.get("factors", [])) or "level"
    head = (
        f"<tr><th>{escape_text(factor)}</th><th>prompts</th><th>finished runs</th><th>pass rate</th>"
        f"<th>{escape_text(table.attrs.get('interval', 'interval'))}</th><th>flaky prompts</th>"
        "<th>cancelled</th></tr>"
    )
    rows = [
        f"<tr><td>{escape_text(row.level)}</td><td class='num'>{row.prompts}</td><td class='num'>{row.finished:,}</td>"
        f"<td class='num'>{pct(row.pass_rate)}</td><td class='num'>{pct(row.low)} – {pct(row.high)}</td>"
        f"<td class='num'>{row.flaky}</td><td class='num'>{row.cancelled:,}</td></tr>"
        for row in table.itertuples()
    ]
    return table_html(head, rows, noun="level", css="russo-sweep-table")


def thresholds_html(frame: pd.DataFrame, factors: list[str], at: float = THRESHOLD_AT) -> str:
    """Where each voice's pass rate falls to ``at`` (one sentence per voice), or why there is no threshold."""
    from ..analysis.robustness import robustness_threshold

    if "snr_db" not in frame.columns or frame["snr_db"].dropna().nunique() < 2:
        return ""
    try:
        table = robustness_threshold(frame, at=at, by="voice" if "voice" in factors else None)
    except Exception as exc:  # a threshold that cannot be read must not hide the tables
        return f"<div class='muted'>No threshold: {escape_text(exc)}</div>"
    items = "".join(f"<li>{escape_text(text)}</li>" for text in table["text"])
    return (
        f"<div class='rd-h'>Where the pass rate falls to {at:.0%}</div><ul>{items}</ul>"
        f"<div class='muted'>{escape_text(table.attrs['method'])}</div>"
    )


def cell_colour(rate: float) -> str:
    """A heatmap cell's colour: red at 0 %, green at 100 %, grey where no run finished."""
    if math.isnan(rate):
        return "#dddddd"
    red, green = int(220 * (1 - rate)) + 30, int(160 * rate) + 60
    return f"rgb({red},{green},70)"


def _cell_style(rate: float) -> str:
    text = "#1a1a1a" if math.isnan(rate) else "#fff"
    return f"background:{cell_colour(rate)};color:{text}"


def heatmap_html(table: pd.DataFrame, *, max_prompts: int = 40) -> str:
    """A :func:`~russo_nb.analysis.heatmap_frame` as a table of coloured pass rates (worst prompts first)."""
    shown = table.iloc[:max_prompts]
    head = "<tr><th>prompt</th>" + "".join(f"<th>{escape_text(c)}</th>" for c in shown.columns) + "</tr>"
    rows = []
    for prompt, values in shown.iterrows():
        cells = "".join(
            f"<td class='num' style='{_cell_style(float(v))}'>{'–' if math.isnan(v) else f'{v:.0%}'}</td>"
            for v in values
        )
        rows.append(f"<tr><td title='{escape_text(prompt)}'>{escape_text(middle(str(prompt), 60))}</td>{cells}</tr>")
    more = len(table) - len(shown)
    note = f"<div class='muted'>{plural(more, 'more prompt', 'more prompts')} not shown</div>" if more else ""
    return f"<table class='russo-sweep-heatmap'>{head}{''.join(rows)}</table>{note}"


def sweep_section_html(frame: pd.DataFrame, factors: list[str], *, chart: str = "") -> str:
    """The report's Sweep section: tables by voice and SNR, thresholds, ``chart`` (the curves), a heatmap per voice."""
    from ..analysis.factors import by_factor, heatmap_frame, level_text

    parts = ["<h2>Sweep: voices and noise</h2>"]
    for factor in [name for name in ("voice", "snr_db", "condition") if name in factors and name in frame.columns]:
        if frame[factor].nunique(dropna=False) > 1:
            parts.append(f"<h3>Pass rate by {escape_text(factor)}</h3>{factor_table_html(by_factor(frame, factor))}")
    parts.append(thresholds_html(frame, factors))
    if chart:
        parts.append(chart)
    columns = [name for name in ("snr_db", "condition") if name in factors and name in frame.columns]
    if columns:
        voices = list(dict.fromkeys(frame["voice"])) if "voice" in frame.columns else [None]
        for voice in voices:
            where = {"voice": voice} if voice is not None else None
            title = f" — {escape_text(level_text('voice', voice))}" if voice is not None else ""
            parts.append(f"<h3>Where it breaks: pass rate by prompt{title}</h3>")
            parts.append(heatmap_html(heatmap_frame(frame, columns, where=where)))
    return "".join(parts)
