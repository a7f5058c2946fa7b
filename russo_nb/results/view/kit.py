"""The HTML kit every russo view is built from: one escaper, one set of number formatters,
one table helper and one stylesheet.

The notebook's cells, the explorer, compare, history, the run detail and the standalone
report all take their pieces from here, so a percentage, a missing value ("–") or a cut
table ("N more …") reads the same everywhere, and a colour is chosen once per theme.

Theming: the colours are CSS variables on ``.russo``, with a light set, and a dark set
applied in JupyterLab's dark theme (``body[data-jp-theme-light="false"]``) and, in a
standalone page (``.russo-page``), when the reader's system prefers dark. Text that sits
on a coloured background (a word diff, a differing argument) takes its colour from the
same set as the background, never from the theme's text colour, so it keeps ≥ 4.5:1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = [
    "MAX_HIDDEN_ROWS",
    "MAX_ROWS",
    "MAX_TEXT",
    "MISSING",
    "STYLE",
    "escape_text",
    "match_marks",
    "middle",
    "num",
    "pct",
    "plural",
    "seconds",
    "signed_pct",
    "table_html",
]

MAX_TEXT = 400
"""Text longer than this is cut (with the number of characters cut said)."""
MAX_ROWS = 15
"""The one row limit of a table in a cell: the rows most worth seeing, then "N more" behind a toggle."""
MAX_HIDDEN_ROWS = 500
"""A table offers at most this many hidden rows behind its "N more" toggle; the rest are in the DataFrames."""
MISSING = "–"
"""What every view shows for a number that does not exist (None, NaN): one text everywhere."""


# -- text ------------------------------------------------------------------------------------
def escape_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Escape ``value`` for HTML (quotes too), cutting very long text with a note of what was cut.

    ``limit=0`` never cuts. Everything an agent or a user wrote goes through here.
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if limit and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return escape(text, quote=True)


def match_marks(match: Any, labels: tuple[str, str] = ("ok", "miss"), limit: int = MAX_TEXT) -> tuple[str, str]:
    """One expected call's match as HTML: its badge (``labels``: matched, missed) and the evaluator's
    note on a miss, escaped (``''`` on a match or without details)."""
    badge = (
        f"<span class='badge ok'>{labels[0]}</span>" if match.matched else f"<span class='badge bad'>{labels[1]}</span>"
    )
    if not match.details or match.matched:
        return badge, ""
    return badge, f"<span class='muted'>{escape_text(match.details, limit)}</span>"


def middle(text: str, width: int = 80) -> str:
    """``text`` on one line, shortened in the middle ("Book a flight … to Rome") so variants stay distinct."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    head = (width - 1) // 2 + (width - 1) % 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:] if tail else ''}"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """ "1 run", "14 errors", "1 criterion" / "3 criteria": the count and the noun that agrees with it."""
    word = noun if count == 1 else (plural_form or f"{noun}s")
    return f"{count:,} {word}"


# -- numbers ---------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def pct(value: float | None) -> str:
    """A percentage: whole numbers at 0% and 100%, one decimal elsewhere; :data:`MISSING` for None / NaN."""
    if _missing(value):
        return MISSING
    value = float(value)  # type: ignore[arg-type]
    return f"{value:.0%}" if value in (0.0, 1.0) else f"{value:.1%}"


def signed_pct(value: float | None, digits: int = 1) -> str:
    """A difference in percentage points with its sign ("+12.5%", "−3%"); :data:`MISSING` for None / NaN."""
    if _missing(value):
        return MISSING
    return f"{float(value):+.{digits}%}".replace("-", "−")  # type: ignore[arg-type]


def num(value: float | None, digits: int = 2) -> str:
    """A plain number to ``digits`` decimals (integers without); :data:`MISSING` for None / NaN."""
    if _missing(value):
        return MISSING
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def seconds(value: float | None, digits: int = 2) -> str:
    """A duration ("0.31 s"); :data:`MISSING` for None / NaN."""
    return MISSING if _missing(value) else f"{float(value):.{digits}f} s"  # type: ignore[arg-type]


# -- tables ----------------------------------------------------------------------------------
def table_html(
    head: str,
    rows: Sequence[str],
    *,
    limit: int = MAX_ROWS,
    noun: str = "row",
    css: str = "",
    rest: str = "",
) -> str:
    """A table of ``rows`` (each a ``<tr>…</tr>``) under ``head`` (a ``<tr>`` of ``<th>``).

    The first ``limit`` rows show; the others sit behind "N more {noun}s" ("1 more {noun}"; up to
    :data:`MAX_HIDDEN_ROWS`, in the same columns). ``rest`` says where the rows beyond
    those are (e.g. "russo_nb.analysis.prompts_frame(result)"). Rows are shown in the
    order given: order them most-worth-seeing first.
    """
    cls = f" class='{css}'" if css else ""
    shown = list(rows[:limit]) if limit else list(rows)
    table = f"<table{cls}>{head}{''.join(shown)}</table>"
    hidden = list(rows[len(shown) :])
    if not hidden:
        return table
    offered = hidden[:MAX_HIDDEN_ROWS]
    beyond = len(hidden) - len(offered)
    where = f" in {escape_text(rest, 0)}" if rest else ""
    return (
        table
        + f"<details class='russo-more'><summary>{plural(len(hidden), f'more {noun}', f'more {noun}s')}</summary>"
        + f"<table{cls}>{head}{''.join(offered)}</table>"
        + (f"<div class='muted'>{beyond:,} more{where}.</div>" if beyond else "")
        + "</details>"
    )


# -- the stylesheet --------------------------------------------------------------------------
_LIGHT = """--russo-fg:var(--jp-content-font-color1,#1a1a1a);--russo-muted:var(--jp-content-font-color2,#4d4d4d);
--russo-bg:var(--jp-layout-color0,#fff);--russo-border:var(--jp-border-color2,#d0d0d0);
--russo-head-bg:rgba(127,127,127,.14);--russo-ok:#1e6b24;--russo-bad:#b3261e;--russo-warn:#8a4600;
--russo-flag:#8a4600;--russo-call:#5b1780;--russo-del-bg:#fde2e0;--russo-del-fg:#8e1c16;--russo-ins-bg:#dcf3de;
--russo-ins-fg:#1b5e20;--russo-got-bg:#fff0d6;--russo-got-fg:#6d3a00;--russo-err-bg:#fdecea;--russo-err-fg:#8e1c16;
--russo-user-bg:#e3f2fd;--russo-user-fg:#0d2a4a;--russo-bot-bg:#f1f1f1;--russo-bot-fg:#1f1f1f;
--russo-heard-bg:#ede7f6;--russo-heard-fg:#311b6b;
--russo-tool-bg:#fff8e1;--russo-tool-fg:#4e3b00;--russo-bar-bg:#f2c4c4;--russo-bar-fg:#3d8b40;
--russo-sub-bg:#ffe0b2;--russo-sub-fg:#1a1a1a;--russo-sub-note:#5c3300;--russo-miss-bg:#ffcdd2;
--russo-miss-fg:#1a1a1a;--russo-extra-bg:#b2ebf2;--russo-extra-fg:#1a1a1a;--russo-code-bg:#f5f5f5;
--russo-better-bg:#c8e6c9;--russo-better-fg:#0f3d12;--russo-worse-bg:#ffcdd2;--russo-worse-fg:#5f0d0d;
--russo-same-bg:#e8e8e8;--russo-same-fg:#222;--russo-pass:#1b5e20;--russo-fail:#b71c1c"""

_DARK = """--russo-fg:var(--jp-content-font-color1,#e6e6e6);--russo-muted:var(--jp-content-font-color2,#bdbdbd);
--russo-bg:var(--jp-layout-color0,#1e1e1e);--russo-border:var(--jp-border-color2,#555);--russo-ok:#2e7d32;
--russo-bad:#c62828;--russo-warn:#a84300;--russo-flag:#ffb74d;--russo-call:#e1bee7;--russo-del-bg:#5c1a1a;
--russo-del-fg:#ffcdd2;--russo-ins-bg:#1b4d1f;--russo-ins-fg:#c8e6c9;--russo-got-bg:#4d3300;--russo-got-fg:#ffe0b2;
--russo-err-bg:#4a1616;--russo-err-fg:#ffcdd2;--russo-user-bg:#12375c;--russo-user-fg:#e3f2fd;--russo-bot-bg:#333;
--russo-bot-fg:#eee;--russo-heard-bg:#2f2552;--russo-heard-fg:#e4dcff;--russo-tool-bg:#3d3200;--russo-tool-fg:#fff3c4;
--russo-bar-bg:#6b2b2b;--russo-bar-fg:#4caf50;
--russo-sub-bg:#5a3b00;--russo-sub-fg:#fff3e0;--russo-sub-note:#ffd08a;--russo-miss-bg:#5c1a1a;--russo-miss-fg:#ffe4e6;
--russo-extra-bg:#0b4650;--russo-extra-fg:#e0f7fa;--russo-code-bg:#2a2a2a;--russo-better-bg:#1b4d1f;
--russo-better-fg:#dcf3de;--russo-worse-bg:#5c1a1a;--russo-worse-fg:#ffe4e6;--russo-same-bg:#3a3a3a;
--russo-same-fg:#eee;--russo-pass:#81c784;--russo-fail:#ff8a80"""

_RULES = """
.russo{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.4;max-width:1400px;
color:var(--russo-fg)}
.russo table{border-collapse:collapse;margin:6px 0!important;width:100%;table-layout:auto!important;
color:var(--russo-fg)}
.russo th,.russo td{border-bottom:1px solid var(--russo-border);padding:3px 8px;text-align:left!important;
vertical-align:top;color:var(--russo-fg)}
.russo table.russo-prompts th.prompt,.russo table.russo-prompts td.prompt{width:50%;min-width:16em}
.russo .fail table{width:auto;margin:4px 0!important}
.russo th{background:var(--russo-head-bg);font-weight:600}
.russo .num{text-align:right!important;font-variant-numeric:tabular-nums;white-space:nowrap}
.russo .badge{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600;font-size:12px}
.russo .ok{background:var(--russo-ok)}.russo .bad{background:var(--russo-bad)}.russo .warn{background:var(--russo-warn)}
.russo .muted{color:var(--russo-muted)}.russo td.rate,.russo td.flags{white-space:nowrap}
.russo .notrun{color:var(--russo-muted);font-style:italic}
.russo .bar{display:inline-block;width:110px;height:10px;background:var(--russo-bar-bg);border-radius:2px;
vertical-align:middle}
.russo .bar>span{display:block;height:100%;background:var(--russo-bar-fg);border-radius:2px}
.russo .flag{color:var(--russo-flag);font-weight:600;white-space:nowrap}
.russo code{font-family:var(--jp-code-font-family,monospace);font-size:12px;white-space:pre-wrap;
color:inherit!important;background:transparent!important;padding:0!important}
.russo del{background:var(--russo-del-bg);text-decoration:none;color:var(--russo-del-fg)}
.russo ins{background:var(--russo-got-bg);text-decoration:none;color:var(--russo-got-fg)}
.russo span.side{display:inline-block;min-width:7.5em;color:var(--russo-muted);font-size:0.85em;white-space:nowrap}
.russo details{margin:6px 0}.russo summary{cursor:pointer;font-weight:600}
.russo .fail{border-left:3px solid var(--russo-bad);padding:2px 8px;margin:6px 0}
.russo .sig{font-family:var(--jp-code-font-family,monospace);font-size:12px}
.russo .chat{display:flex;flex-direction:column;gap:4px;margin:6px 0;max-width:760px}
.russo .msg{padding:6px 10px;border-radius:10px;max-width:80%;white-space:pre-wrap}
.russo .msg.user{align-self:flex-end;background:var(--russo-user-bg);color:var(--russo-user-fg)}
.russo .msg.heard{align-self:flex-end;background:var(--russo-heard-bg);color:var(--russo-heard-fg);font-size:12px}
.russo .msg.assistant{align-self:flex-start;background:var(--russo-bot-bg);color:var(--russo-bot-fg)}
.russo .msg.tool{align-self:flex-start;background:var(--russo-tool-bg);color:var(--russo-tool-fg);
font-family:monospace;font-size:12px}
.russo .msg.system{align-self:center;background:transparent;color:var(--russo-muted);font-style:italic}
.russo .msg .role{font-size:11px;color:inherit;opacity:.85;display:block}
.russo .msg audio{display:block;height:32px;margin-top:4px}
.russo .call{display:block;font-family:monospace;font-size:12px;color:var(--russo-call)}
.russo .verdict{padding:6px 10px;border-radius:6px;margin:4px 0}
.russo .verdict.ok{background:var(--russo-ins-bg);color:var(--russo-ins-fg)}
.russo .verdict.bad{background:var(--russo-err-bg);color:var(--russo-err-fg)}
.russo .err{background:var(--russo-err-bg);color:var(--russo-err-fg);padding:6px 10px;border-radius:4px;
white-space:pre-wrap}
.russo .note{border-left:3px solid var(--russo-warn);padding:2px 8px;margin:4px 0}
.russo .wd{line-height:1.9}
.russo .wd span{padding:1px 3px;border-radius:3px}
.russo .wd .sub{background:var(--russo-sub-bg);color:var(--russo-sub-fg)}
.russo .wd .del{background:var(--russo-miss-bg);color:var(--russo-miss-fg);text-decoration:line-through}
.russo .wd .ins{background:var(--russo-extra-bg);color:var(--russo-extra-fg);text-decoration:underline}
.russo .wd .sub .said{color:var(--russo-sub-note);font-size:11px;padding:0}
.russo table.calls{width:auto;border-collapse:collapse}
.russo table.calls th,.russo table.calls td{border:1px solid var(--russo-border);padding:2px 8px}
.russo table.calls th.side{text-align:right!important;white-space:nowrap}
.russo table.calls td.differs{background:var(--russo-sub-bg);color:var(--russo-sub-fg);font-weight:600}
.russo table.calls td.absent{color:var(--russo-muted);font-style:italic}
.russo table.calls td.differs.absent{color:var(--russo-sub-fg)}
.russo .rd-h{margin:8px 0 2px;font-weight:600}
.russo pre.tb{white-space:pre-wrap;font-size:11px;max-height:360px;overflow:auto;background:var(--russo-code-bg);
color:var(--russo-fg);padding:6px;border-radius:4px}
.russo dl.rd{display:grid;grid-template-columns:max-content auto;gap:1px 12px;margin:4px 0}
.russo dl.rd dt{color:var(--russo-muted);white-space:nowrap}.russo dl.rd dd{margin:0}
.russo .dir{display:inline-block;padding:1px 8px;border-radius:9px;font-weight:600;font-size:12px}
.russo .dir.better{background:var(--russo-better-bg);color:var(--russo-better-fg)}
.russo .dir.worse{background:var(--russo-worse-bg);color:var(--russo-worse-fg)}
.russo .dir.same{background:var(--russo-same-bg);color:var(--russo-same-fg)}
.russo table.grid{table-layout:fixed!important}
.russo table.grid th.prompt,.russo table.grid td.prompt{width:34%}
.russo table.grid td.run-side{width:33%;overflow-wrap:anywhere}
.russo .chips{letter-spacing:1px;font-family:var(--jp-code-font-family,monospace)}
.russo .chips .p{color:var(--russo-pass)}.russo .chips .f{color:var(--russo-fail)}
.russo .russo-search{margin:6px 0;padding:3px 6px;width:22em;max-width:100%;color:var(--russo-fg);
background:var(--russo-bg);border:1px solid var(--russo-border);border-radius:3px}
.russo .chart{max-width:900px}
/* the runs table (ipywidgets): fixed-width columns in monospace */
.russo-runs-rows select{font-family:var(--jp-code-font-family,monospace)!important;font-size:12px!important;
white-space:pre}
.russo-runs-head button{font-family:var(--jp-code-font-family,monospace)!important;font-size:12px!important;
padding:0!important;margin:0!important;border:0!important;box-sizing:border-box;text-align:left;overflow:hidden;
background:var(--jp-layout-color2,#eee)}
.russo-page{margin:24px;background:var(--russo-bg);color:var(--russo-fg)}
.russo-page h1{font-size:22px;margin-bottom:4px}
.russo-page h2{font-size:18px;margin-top:28px;border-bottom:1px solid var(--russo-border)}
"""


def _stylesheet() -> str:
    light = _LIGHT.replace("\n", " ")
    dark = _DARK.replace("\n", " ")
    return (
        "<style>"
        f".russo,.russo-page{{{light}}}"
        f'body[data-jp-theme-light="false"] .russo{{{dark}}}'
        f"@media (prefers-color-scheme: dark){{.russo-page,.russo-page .russo{{{dark}}}}}"
        + _RULES.replace("\n", " ")
        + "</style>"
    )


STYLE = _stylesheet()
"""The one stylesheet (a ``<style>`` element): light and dark colours, tables, diffs, chat bubbles, charts."""
