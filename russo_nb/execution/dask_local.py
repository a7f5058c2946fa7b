"""The worker processes of the local cluster :class:`~russo_nb.execution.dask_executor.DaskExecutor` starts
leave Ctrl-C to the driver.

A terminal's Ctrl-C, and a Jupyter kernel interrupt, signal the whole process group, and a ``LocalCluster``'s
worker processes are in the driver's group. Left alone, each worker dies of the ``KeyboardInterrupt`` in the
middle of its chunk, and the runs it had finished die with it (measured: 88 of 163 finished runs lost), while the
driver was about to cancel the job cleanly: the cancel event stops every running chunk, which hands back its
finished runs. So the local cluster's workers ignore SIGINT and are stopped by the driver (on cancel) and closed
by :meth:`DaskExecutor.close`. A cluster you start yourself is left as you configured it.

Imported only when a local cluster starts (it needs ``distributed``).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin

__all__ = ["CtrlCToTheDriver"]


class CtrlCToTheDriver(WorkerPlugin):
    """Worker plugin: this worker process ignores SIGINT (set up again on every worker a nanny restarts)."""

    name = "russo-ctrl-c-to-the-driver"

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():  # a nanny's worker runs its loop there
            signal.signal(signal.SIGINT, signal.SIG_IGN)
