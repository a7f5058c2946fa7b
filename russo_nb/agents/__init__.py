"""Old home of the agents, kept so suite files and code that name ``russo_nb.agents`` keep working.

Everything lives in :mod:`russo_nb.adapters`; this module only re-exports it (``russo_nb.agents.X`` and
the old submodule paths ``russo_nb.agents.local`` / ``.http`` / ``.intents`` / ``.openai_chat``).
"""

from __future__ import annotations

import sys
from typing import Any

from ..adapters import __all__ as _adapter_names
from ..adapters import http, intents, local, openai_chat

__all__ = list(_adapter_names)

for _module in (http, intents, local, openai_chat):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module


def __getattr__(name: str) -> Any:
    """Every name of :mod:`russo_nb.adapters`."""
    from .. import adapters

    return getattr(adapters, name)
