"""Optional extras: the cloud SDKs some adapters need, and the one-line error when one is missing.

``pip install 'russo_nb[openai]'`` (openai), ``[google]`` (google-genai), ``[ws]`` (websockets),
``[dask]`` (distributed, for :class:`~russo_nb.execution.dask_executor.DaskExecutor`) or ``[all]``. The demo,
the notebooks and every offline part of the package need none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import RussoError

__all__ = ["EXTRAS", "MissingExtraError", "require"]

EXTRAS = {"openai": "openai", "google.genai": "google", "websockets": "ws", "distributed": "dask"}
"""Module -> the extra that installs it."""


class MissingExtraError(RussoError, ImportError):
    """An adapter or synthesizer needs an optional package that is not installed."""


def require(module: str, who: str) -> ModuleType:
    """Import ``module`` or raise a one-line :class:`MissingExtraError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module, "all")
        package = {"google.genai": "google-genai"}.get(module, module)
        raise MissingExtraError(
            f"{who} needs the {package} package, which is not installed: pip install 'russo_nb[{extra}]'"
        ) from None
