"""Ctrl-C with Dask: a real SIGINT to ``russo --config suite.yaml --dask ...`` and a real kernel interrupt of
``%russo run ... --dask ADDRESS``, against a real LocalCluster.

The suite's agent (``cli_agents.HoldOnFileAgent``, built on the workers by import path) answers quickly until the
test creates a ``hold`` file; from then on every run waits two minutes, which only a cancel can cut short. Each
quick run that finished leaves a marker, so the test knows from outside how many runs really finished on the
workers, and presses Ctrl-C only once every run still in flight is a held one.

Every wait is bounded (a hang fails the test, it does not block the session).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from kernel_helpers import collect, execute, wait_for_progress

from russo_nb.report import load_batch
from russo_nb.testing import wait_until

pytestmark = pytest.mark.slow

RUSSO_SCRIPT = Path(sys.executable).with_name("russo")
TESTS = Path(__file__).resolve().parent
HOLD_S = 120.0
RUNS = 400
#: 8 runs at once: 4 per chunk on each of the 2 workers.
CAP = 8

SUITE = """
name: held
pipeline:
  synthesizer: null
  agent: {{class: cli_agents.HoldOnFileAgent, params: {{markers: {markers!r}, delay: 0.1, hold_s: {hold}}}}}
runs: {runs}
max_concurrency: {cap}
tests:
  - {{id: la, prompt: Book a flight from NYC to LA, expect: ["book_flight(to_city='LA')"]}}
"""


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
    cluster.close()


#: A suite's executor: block for a local cluster of 2 workers (`--dask` alone sizes it to the machine's cores).
LOCAL_CLUSTER = "executor: {kind: dask, n_workers: 2}\n"


def _suite(tmp_path: Path, extra: str = "") -> Path:
    """Write tmp_path/suite.yaml (plus ``extra`` keys); returns its agent's markers folder."""
    markers = tmp_path / "markers"
    markers.mkdir()
    text = SUITE.format(markers=str(markers), hold=HOLD_S, runs=RUNS, cap=CAP) + extra
    (tmp_path / "suite.yaml").write_text(text)
    return markers


def _bounded(coro, seconds: float = 240.0):
    """Run a test's coroutine with a deadline: a cluster that stops answering fails the test, never hangs the suite."""
    import asyncio

    return asyncio.run(asyncio.wait_for(coro, seconds))


def _markers(folder: Path, kind: str) -> list[str]:
    return [name for name in os.listdir(folder) if name.startswith(kind + "-")]


def _busy(client) -> tuple[int, int]:
    """Tasks the scheduler has on workers, and tasks the workers themselves are executing."""
    processing = sum(len(keys) for keys in client.processing().values())
    executing = sum(client.run(lambda dask_worker: dask_worker.state.executing_count).values())
    return processing, executing


class _Lines:
    """A child's stream read line by line in a thread, so the test can wait for a line with a deadline."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        self.thread.join(30)
        return "".join(self.lines)


def _session(sid: int) -> list[psutil.Process]:
    """Processes still alive in session ``sid`` (the child and anything it started)."""
    alive = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except (OSError, psutil.Error):
            continue
    return alive


class _Interrupted:
    """``russo --config suite.yaml --dask ...`` run until every worker slot holds a run, then Ctrl-C to its group."""

    def __init__(
        self, tmp_path: Path, cli_env: dict[str, str], dask: list[str], idle=None, extra: str = "", presses: int = 1
    ) -> None:
        assert RUSSO_SCRIPT.exists(), f"no russo console script next to {sys.executable} (pip install -e .)"
        self.tmp_path = tmp_path
        markers = _suite(tmp_path, extra)
        child = subprocess.Popen(
            [str(RUSSO_SCRIPT), "--config", "suite.yaml", *dask, "--json", "out.jsonl", "--no-history"],
            cwd=tmp_path,
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: Ctrl-C goes to the group, as a terminal sends it
        )
        self.child = child
        try:
            err, out = _Lines(child.stderr), _Lines(child.stdout)
            # some runs finished and came back (a chunk returned): the progress line says so
            wait_until(lambda: any("runs done" in line for line in err.lines), 90, what="a progress line")
            (markers / "hold").touch()
            # every slot on both workers holds a run: no quick run is in flight, the finished count is final
            wait_until(lambda: len(self._holding(markers)) == 2, 60, what=f"{CAP // 2} held runs on 2 workers")
            self.workers = self._holding(markers)
            self.quick = len(_markers(markers, "quick"))
            if idle is not None:
                processing, executing = idle()
                assert executing == 2 and processing >= 2  # both workers run a chunk (and more wait their turn)
            pressed = time.monotonic()
            os.killpg(child.pid, signal.SIGINT)
            for _ in range(presses - 1):  # pressed again while the first one's cancel is under way
                time.sleep(0.05)
                os.killpg(child.pid, signal.SIGINT)
            if idle is not None:
                wait_until(lambda: idle() == (0, 0), 10, what="idle workers after Ctrl-C", interval=0.02)
            self.idle_s = time.monotonic() - pressed
            self.code = child.wait(timeout=60)
            self.exit_s = time.monotonic() - pressed
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
        self.stdout, self.stderr = out.text, err.text
        self.left = _session(child.pid)

    @staticmethod
    def _holding(markers: Path) -> set[int]:
        """The processes (worker pids) with at least their chunk's share of the cap in held runs."""
        pids = [int(name.split("-")[1]) for name in _markers(markers, "held")]
        return {pid for pid in set(pids) if pids.count(pid) >= CAP // 2}

    def check(self) -> None:
        """Exit 130, finished runs kept exactly, the rest cancelled, said as an interruption, nothing left running."""
        quick, stdout, stderr = self.quick, self.stdout, self.stderr
        assert self.code == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr and "INFO" not in stderr, stderr
        assert not self.left  # nothing it started outlives it
        # honest: every run that finished on a worker is in the result as finished, every other one is cancelled
        batch = load_batch(self.tmp_path / "out.jsonl")
        counts = batch.status_counts
        assert batch.total == RUNS and batch.metadata.params.get("interrupted") is True
        assert counts.get("passed", 0) == quick and quick >= 1
        assert counts.get("cancelled", 0) == RUNS - quick
        assert f"INTERRUPTED: {quick}/{quick} runs passed (100.0%)" in stdout
        assert f"{RUNS - quick} cancelled runs not counted" in stdout
        assert "did not pass" not in stdout  # a cancelled run is not a failure


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_on_the_command_line_keeps_finished_runs_and_leaves_the_workers_idle(client, tmp_path, cli_env, presses):
    dask = ["--dask", client.scheduler.address]
    run = _Interrupted(tmp_path, cli_env, dask, idle=lambda: _busy(client), presses=presses)
    print(f"workers idle {run.idle_s:.2f} s after Ctrl-C, command ended {run.exit_s:.2f} s; {run.quick} finished")
    run.check()
    assert run.workers == set(client.run(os.getpid).values())  # the runs were held on the cluster's workers
    assert run.idle_s < HOLD_S / 4  # the held runs were cut short by the cancel, not waited out
    # the queued chunks were withdrawn and nothing of the job is left on the cluster
    assert not any(client.processing().values())


def test_ctrl_c_with_the_local_cluster_keeps_the_runs_its_workers_finished(tmp_path, cli_env):
    """The suite's ``executor:`` block starts a local cluster in the command, so Ctrl-C reaches its workers too.

    They leave the interrupt to the command (russo_nb.execution.dask_local), which cancels their chunks and
    gets back the runs they finished; then it closes the cluster.
    """
    run = _Interrupted(tmp_path, cli_env, [], extra=LOCAL_CLUSTER)
    print(f"command ended {run.exit_s:.2f} s after Ctrl-C; {run.quick} runs had finished")
    run.check()
    assert run.child.pid not in run.workers  # the runs were held in worker processes of the command's cluster


# -- a kernel interrupt of %russo ... --dask ---------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    folder = tmp_path_factory.mktemp("kernel")
    manager, kernel_client = start_new_kernel(kernel_name="python3", cwd=str(folder))
    try:
        # cli_agents is importable on the workers too: they were spawned with this process's sys.path
        setup = execute(kernel_client, f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n%load_ext russo_nb")
        assert setup["error"] is None, setup
        yield manager, kernel_client
    finally:
        kernel_client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_kernel_interrupt_of_the_magic_on_the_cluster_shows_the_partial_result(kernel, client, tmp_path):
    manager, kernel_client = kernel
    markers = tmp_path / "markers"
    markers.mkdir()
    made = execute(
        kernel_client,
        f"from cli_agents import HoldOnFileAgent\nheld = HoldOnFileAgent({str(markers)!r}, delay=0.1, hold_s={HOLD_S})",
    )
    assert made["error"] is None, made
    msg_id = kernel_client.execute(
        f'%russo run "Book a flight from NYC to LA" --agent held --text --runs {RUNS} --max-concurrency {CAP} '
        f"--expect \"book_flight(to_city='LA')\" --dask {client.scheduler.address} --as partial"
    )
    wait_for_progress(kernel_client, msg_id, timeout=90)
    (markers / "hold").touch()
    wait_until(lambda: len(_Interrupted._holding(markers)) == 2, 60, what=f"{CAP // 2} held runs on 2 workers")
    quick = len(_markers(markers, "quick"))
    assert _busy(client)[1] == 2

    pressed = time.monotonic()
    manager.interrupt_kernel()
    wait_until(lambda: _busy(client) == (0, 0), 10, what="idle workers after the interrupt", interval=0.02)
    idle_s = time.monotonic() - pressed
    out = collect(kernel_client, msg_id, timeout=60)
    print(f"workers idle {idle_s:.2f} s after the kernel interrupt; {quick} runs had finished")
    assert out["error"] is None, out  # the magic caught the interrupt
    assert "Traceback" not in out["stderr"], out["stderr"]
    html = next(b["text/html"] for b in out["data"] if "russo-batch" in b.get("text/html", ""))
    assert f"{RUNS - quick} cancelled — interrupted after {quick} runs" in html
    assert "INTERRUPTED" in html and "FAILED" not in html
    assert f"100%</b> pass rate per run ({quick}/{quick} finished runs" in html
    check = execute(
        kernel_client,
        "print(partial.total, partial.passed_count, partial.status_counts.get('cancelled'), "
        "partial.metadata.params.get('interrupted'))",
    )
    assert check["stdout"].split() == [str(RUNS), str(quick), str(RUNS - quick), "True"], check
    assert not any(client.processing().values())  # nothing of the job is left on the cluster


# -- a cancel at any moment ------------------------------------------------------------------------------


async def _stopped(job, cancel: bool = True, timeout: float = 60):
    """Cancel ``job`` (unless already done elsewhere) and wait for it to end; its result. A hang fails the test."""
    import asyncio

    if cancel:
        job.cancel()
    try:
        await asyncio.wait_for(job.wait(), timeout)
    except asyncio.CancelledError:
        pass
    return job.result()


class _HeldAgent:
    """Every run waits until its job is cancelled (a Gate travels to the workers closed)."""

    name = "held"

    def __init__(self) -> None:
        from russo_nb.testing import Gate

        self.gate = Gate()

    async def run(self, heard):
        await self.gate.wait()
        return None


@pytest.mark.parametrize("moment", [0.0, "submitting", 0.02, 1.0])
def test_a_cancel_at_any_moment_of_the_start_leaves_the_workers_idle(client, monkeypatch, moment):
    """Cancelled before the job starts, while it submits its first chunks, or after some seconds: nothing runs on.

    Every run waits for its job's cancel, so a chunk the cancel missed would hold its worker for good (a cancel
    while the chunks were being submitted did, before the driver waited for them to be submitted and stopped them).
    """
    import asyncio

    import cloudpickle

    import russo_nb as russo
    from russo_nb.execution import dask_executor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    job = russo.start_batch(
        [f"prompt {n}" for n in range(20)], agent=_HeldAgent(), runs=50, executor=dask_executor.DaskExecutor(client)
    )
    if moment == "submitting":  # the cancel lands on the job's loop between two submissions, deterministically
        submit = dask_executor._Driver._submit
        calls = []

        def cancel_then_submit(driver, *args):
            calls.append(args)
            if len(calls) == 2:
                driver.loop.call_soon_threadsafe(driver.job.cancel)
                wait_until(lambda: driver.job.interrupted, 10, what="the cancel on the job's loop", interval=0.001)
            submit(driver, *args)

        monkeypatch.setattr(dask_executor._Driver, "_submit", cancel_then_submit)

    async def main():
        job.start()
        if moment != "submitting":
            await asyncio.sleep(moment)
        return await _stopped(job, cancel=moment != "submitting")

    result = _bounded(main())
    assert result.total == 1000 and result.status_counts == {"cancelled": 1000}
    assert moment != "submitting" or len(calls) >= 2  # the cancel came between two submissions
    wait_until(lambda: _busy(client) == (0, 0), 10, what="idle workers after the cancel", interval=0.02)


def test_a_kernel_interrupt_with_the_suites_local_cluster_keeps_finished_runs_and_closes_it(kernel, tmp_path):
    """``%russo suite`` whose file asks for a local cluster: the interrupt signals the kernel's process group, the
    cluster's workers included; they leave it to the kernel, the finished runs are kept and the cluster closed."""
    manager, kernel_client = kernel
    markers = _suite(tmp_path, LOCAL_CLUSTER)
    msg_id = kernel_client.execute(f"%russo suite {tmp_path / 'suite.yaml'} --as spart")
    wait_for_progress(kernel_client, msg_id, timeout=120)
    (markers / "hold").touch()
    wait_until(lambda: len(_Interrupted._holding(markers)) == 2, 60, what=f"{CAP // 2} held runs on 2 workers")
    workers = _Interrupted._holding(markers)
    quick = len(_markers(markers, "quick"))
    manager.interrupt_kernel()
    out = collect(kernel_client, msg_id, timeout=120)
    assert out["error"] is None, out
    assert "Traceback" not in out["stderr"], out["stderr"]
    html = next(b["text/html"] for b in out["data"] if "russo-batch" in b.get("text/html", ""))
    assert f"{RUNS - quick} cancelled — interrupted after {quick} runs" in html and "INTERRUPTED" in html
    check = execute(
        kernel_client,
        "import os\nprint(spart.passed_count, spart.status_counts.get('cancelled'), "
        "spart.metadata.params.get('interrupted'), os.getpid())",
    )
    assert check["error"] is None, check
    passed, cancelled, flag, kernel_pid = check["stdout"].split()
    assert (int(passed), int(cancelled), flag) == (quick, RUNS - quick, "True"), check
    assert int(kernel_pid) not in workers  # the runs were held in the cluster's worker processes
    # the cell closed the cluster it started: its workers are gone
    assert not [pid for pid in workers if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


# -- scenarios: a cancel tears down every run it cut off, on the workers ------------------------------------


def _hold_or_book(markers: str):
    """A scenario agent under test: books at once until ``markers/hold`` exists, then holds (a marker per held run)."""
    from russo_nb import scenario

    class HoldOrBook(scenario.AgentAdapter):
        async def call(self, input):
            import asyncio

            if Path(markers, "hold").exists():
                Path(markers, f"held-{os.getpid()}-{time.monotonic_ns()}").touch()
                await asyncio.sleep(HOLD_S)
            return "Booked."

    return HoldOrBook()


def test_a_cancelled_scenario_batch_on_the_cluster_tears_down_the_runs_it_cut_off(client, tmp_path):
    import asyncio

    import cloudpickle

    from russo_nb import scenario
    from russo_nb.dask_executor import DaskExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    markers = str(tmp_path)

    def teardown(state):  # runs on the worker: a marker per torn-down run
        Path(markers, f"torn-{state.run_index}").touch()

    spec = scenario.Scenario(
        name="held booking",
        description="d",
        agents=lambda: [_hold_or_book(markers)],
        script=[scenario.user("a flight to Oslo"), scenario.agent(), scenario.succeed()],
        teardown=teardown,
    )
    job = scenario.start_scenarios(spec, runs=200, max_concurrency=CAP, executor=DaskExecutor(client))

    async def main():
        job.start()
        for _ in range(3000):  # some runs came back (at most a minute)
            if job.progress.done:
                break
            await asyncio.sleep(0.02)
        Path(markers, "hold").touch()
        for _ in range(3000):  # both workers hold runs
            if len({name.split("-")[1] for name in os.listdir(markers) if name.startswith("held-")}) == 2:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the workers did not both hold a run within a minute")
        return await _stopped(job)

    batch = _bounded(main())
    wait_until(lambda: _busy(client) == (0, 0), 10, what="idle workers after the cancel", interval=0.02)
    counts = batch.status_counts
    assert batch.total == 200 and counts.get("passed", 0) >= 1 and counts.get("cancelled", 0) >= 2
    assert counts.get("passed", 0) + counts.get("cancelled", 0) == 200
    # every run that was set up, finished or cut off, was torn down on its worker; no other run was
    started = {run.run_index for run in batch.runs if "set_up" in run.phases}
    torn = {int(name.split("-")[1]) for name in os.listdir(markers) if name.startswith("torn-")}
    assert torn == started and len(started) > counts["passed"]  # runs cut off mid-way were torn down too


# -- CPU-bound voice runs: a cancel stops the decoding on the workers too --------------------------------------


def test_a_cancelled_voice_job_on_the_cluster_leaves_the_workers_idle_and_no_clip_waiting(client):
    """The demo (espeak-ng + the offline recogniser, decoding inline on each worker behind its run-order queue),
    cancelled once runs came back: the workers go idle, and no clip is left waiting for a decoding thread."""

    from russo_nb.dask_executor import DaskExecutor
    from russo_nb.demo import demo_suite, start_demo

    def waiting_clips() -> int:
        from russo_nb.voice.audio.transcribe import inline_queue

        return inline_queue().waiting

    job = start_demo(runs=10, executor=DaskExecutor(client))

    async def main():
        async for _ in job:
            break  # a chunk came back
        return await _stopped(job, timeout=120)

    result = _bounded(main())
    wait_until(lambda: _busy(client) == (0, 0), 10, what="idle workers after the cancel", interval=0.02)
    assert set(client.run(waiting_clips).values()) == {0}
    counts = result.status_counts
    assert result.total == len(demo_suite().prompts) * 10 and counts.get("cancelled", 0) >= 1
    assert sum(counts.values()) - counts["cancelled"] == job.progress.done >= 1
