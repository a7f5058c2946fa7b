"""The explorer's Export tab: write a batch as HTML / CSV / Parquet / JSON lines, honour
"include audio" for every format, and say where the file went — its absolute path and a
link that opens it in JupyterLab (or downloads it).

Links are relative to the kernel's working directory (the notebook's folder in JupyterLab),
shown through an Output widget so JupyterLab's renderer resolves them like any link in a
notebook output; a file outside that folder gets its absolute path only, said plainly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...results.view.kit import STYLE, escape_text

__all__ = ["ExportPanel", "export_links_html", "suggested_stem"]

FORMATS = (".html", ".csv", ".parquet", ".jsonl")


def suggested_stem(result: Any) -> str:
    """A file name stem from the batch's name (letters, digits, - and _), or ``russo_result``."""
    name = getattr(getattr(result, "metadata", None), "name", None) or "russo_result"
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))[:60] or "russo_result"


def export_links_html(written: Path, *, cwd: Path | None = None) -> str:
    """Where a file was written: absolute path, size, and open / download links when it is under ``cwd``."""
    absolute = written.resolve()
    size = absolute.stat().st_size / 1024 if absolute.exists() else 0.0
    base = (cwd or Path.cwd()).resolve()
    try:
        relative = absolute.relative_to(base)
    except ValueError:
        relative = None
    parts = [f"wrote <code class='russo-export-path'>{escape_text(str(absolute), 1000)}</code> ({size:,.1f} KiB)"]
    if relative is not None:
        href = escape_text(quote(relative.as_posix()))
        parts.append(
            f" · <a class='russo-export-open' href='{href}' target='_blank'>open in JupyterLab</a>"
            f" · <a class='russo-export-download' href='{href}' download='{escape_text(absolute.name)}'>download</a>"
        )
    else:
        parts.append(
            "<div class='muted'>The file is outside the notebook's folder, so JupyterLab cannot link to it; "
            "open it from the path above.</div>"
        )
    return f"{STYLE}<div class='russo russo-export-result'>{''.join(parts)}</div>"


class ExportPanel:
    """Path, include-audio, one button per format, and the result (path + links) of the last write."""

    def __init__(self, result: Any) -> None:
        import ipywidgets as widgets

        self.result = result
        self.path = widgets.Text(
            value=f"{suggested_stem(result)}.html", description="Path", layout=widgets.Layout(width="60%")
        )
        self.include_audio = widgets.Checkbox(
            value=False,
            description="include audio",
            tooltip="HTML: embed players; CSV / Parquet: WAV files in <name>_audio/; JSON lines: clips inside",
        )
        self.status = widgets.Output()
        self.status.add_class("russo-export-status")
        buttons = []
        for suffix in FORMATS:
            button = widgets.Button(description=f"Write {suffix[1:].upper()}", icon="download")
            button.on_click(lambda _, s=suffix: self.export(Path(self.path.value).with_suffix(s)))
            buttons.append(button)
        hint = widgets.HTML(
            value=f"{STYLE}<div class='russo muted'>HTML: a standalone report to share; CSV / Parquet: one row "
            "per run; JSON lines: the whole batch, loadable with russo_nb.report.load_batch. Relative paths are "
            f"written under {escape_text(os.getcwd(), 300)}.</div>"
        )
        self.last_html = ""
        self.widget = widgets.VBox([self.path, self.include_audio, widgets.HBox(buttons), hint, self.status])

    def export(self, path: str | Path) -> Path | None:
        """Write the result to ``path`` (format by suffix) and show its absolute path and links."""
        from IPython.display import HTML, display

        try:
            from ...results.report import export

            written = Path(export(self.result, path, include_audio=self.include_audio.value))
            self.last_html = export_links_html(written)
        except Exception as exc:  # shown in the tab, one line; nothing else is lost
            written = None
            self.last_html = (
                f"{STYLE}<div class='russo'><div class='err'>{escape_text(f'{type(exc).__name__}: {exc}')}</div></div>"
            )
        self.status.clear_output()
        with self.status:
            display(HTML(self.last_html))
        return written
