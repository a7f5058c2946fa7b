"""What the adapter tests share: the local protocol servers of examples/local_servers.py."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from local_servers import BOOK_ARGS, HttpAgentServer, WebSocketAgentServer  # noqa: E402

__all__ = ["BOOK", "EXAMPLES", "HttpAgentServer", "WebSocketAgentServer"]

BOOK = f"book_flight(to_city={BOOK_ARGS['to_city']!r})"
