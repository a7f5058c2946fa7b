"""Up / down keys move between runs in the Runs tab, also in JupyterLab's notebook.

A listbox (``<select>``) inside a notebook output does not get the arrow keys in JupyterLab:
in command mode the notebook's keybindings (move cell selection) match any focused element
that is not editable, take the key and move the cell selection away. :class:`RunKeys` is an
invisible anywidget whose front-end code listens for ↑ / ↓ before the notebook does (on
``window``, capture phase) — only when the focus is in its own runs browser's row list or
opened run — stops the key there and tells the kernel which way to move. The kernel then
moves exactly as the ▲ / ▼ buttons do, turning pages at a page's first or last row. Escape there
gives the keys back: the list loses the focus and the notebook is in command mode again.

anywidget ships its front end prebuilt (JupyterLab, Notebook 7, VS Code, Colab), and this
module's JavaScript travels with the widget, so nothing is fetched at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget

__all__ = ["RunKeys"]

ESM = """
const KEYS = { ArrowDown: 1, ArrowUp: -1 };
const ZONES = ".russo-runs-rows, .russo-detail";
const EDITABLE = "input, textarea, [contenteditable=''], [contenteditable='true'], audio, video";

function render({ model, el }) {
  el.classList.add("russo-run-keys-ready");
  const onKey = (event) => {
    const step = KEYS[event.key];
    const escape = event.key === "Escape";
    if ((step === undefined && !escape) || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const target = event.target;
    if (!(target instanceof Element)) return;
    const browser = el.closest(".russo-runs-browser");
    if (!browser || !browser.contains(target) || !target.closest(ZONES) || target.closest(EDITABLE)) return;
    if (escape) {
      // back to the notebook's command mode, as Escape does in a cell: the list lets go of the keys
      event.preventDefault();
      event.stopPropagation();
      const notebook = target.closest(".jp-Notebook");
      if (target instanceof HTMLElement) target.blur();
      if (notebook instanceof HTMLElement) notebook.focus();
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    model.send({ move: step });
  };
  window.addEventListener("keydown", onKey, true);
  return () => window.removeEventListener("keydown", onKey, true);
}

export default { render };
"""


class RunKeys(anywidget.AnyWidget):
    """Invisible: routes ↑ / ↓ pressed in its runs browser (rows or opened run) to ``on_move(step)``.

    ``step`` is +1 for ↓ (next run of the list) and -1 for ↑. Place it inside the element
    carrying the ``russo-runs-browser`` class; it acts on keys whose target is in that element.
    """

    _esm = ESM

    def __init__(self, on_move: Callable[[int], None]) -> None:
        super().__init__(layout={"width": "0px", "height": "0px", "overflow": "hidden", "margin": "0px"})
        self.add_class("russo-run-keys")
        self.on_move = on_move
        self.on_msg(self._message)

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        step = content.get("move") if isinstance(content, dict) else None
        if step in (1, -1):
            self.on_move(step)
