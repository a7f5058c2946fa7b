"""DaskExecutor against the in-process engine, measured in the same run (issue 22).

Targets:

1. Tiny runs (text mode, an instant agent), 100,000 runs: the CPU per run of the driver + the
   workers is at most 30 µs more than the in-process engine's, and the driver's peak memory
   growth is at most the in-process engine's. The scheduler's CPU is printed beside it (on a real
   cluster it is another machine's). What each side holds at its peak differs: the in-process engine
   holds a run object per run; the Dask driver holds each chunk's decoded rows (one
   :class:`~russo_nb.model.run_blocks.RunBlock` per chunk: its columns and shared tables) and builds a
   run only when it is looked at. The case reads ``result.total`` and ``passed_count`` (counted from the
   rows' status column), so no run is built on the driver; reading every run would build them there too.
   The peak growth of each run is printed to 0.01 MB (run-to-run spread is about ±0.25 MB).
2. CPU-bound runs (espeak-ng + the offline pocketsphinx recogniser, ``LocalVoiceAgent(mode="inline")``):
   two single-threaded workers on this 2-core machine give ≥ 1.6× the throughput of one in-process
   engine without the recogniser's process pool.

The cluster is a real one on loopback: a ``dask scheduler`` process and two ``dask worker``
processes (one thread each), started here with the settings the executor's own local cluster uses
(:data:`russo_nb.dask_executor.CLUSTER_CONFIG`, as environment variables) and stopped at the end; the driver
of each case runs in its own fresh process (the in-process baseline too), so peak memory is that process's
alone. Each case runs twice, alternating, and the best run counts. Both sides exclude the same warm-up (a
short job first in the same process: espeak-ng and the recogniser's decoder loaded). Besides wall-clock
throughput, the CPU seconds of every process are printed (CPU per run is what a loaded machine does not
distort much), and the load average before and after. On a shared machine throughput is not trustworthy:
re-measure on an idle one.

Run: python benchmarks/dask_executor.py [--tiny N] [--voice N] [--only tiny|voice]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _process_cpu() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


def _cluster_cpu(client) -> tuple[float, float]:
    """(CPU seconds of every worker process, of the scheduler) so far."""
    workers = client.run(_process_cpu)
    return sum(workers.values()), client.run_on_scheduler(_process_cpu)


# -- the cases (each in its own process) --------------------------------------------------------


def tiny_case(runs: int, scheduler_file: str | None) -> dict:
    import russo_nb as russo

    prompts = [f"Book flight number {n} to LA" for n in range(100)]
    answer = russo.AgentResponse(tool_calls=[russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})])

    @russo.agent
    async def instant(text):
        return answer

    executor = client = None
    if scheduler_file:
        from distributed import Client

        from russo_nb.dask_executor import DaskExecutor

        client = Client(scheduler_file=scheduler_file)
        executor = DaskExecutor(client)
        russo.run_concurrent_sync(prompts[:2], agent=instant, expect="book_flight(to_city='LA')", executor=executor)
        workers_before, scheduler_before = _cluster_cpu(client)
    base_rss = _rss_mb()
    cpu = _cpu_s()
    wall = time.perf_counter()
    result = russo.run_concurrent_sync(
        prompts, agent=instant, expect="book_flight(to_city='LA')", runs=runs // len(prompts), executor=executor
    )
    wall = time.perf_counter() - wall
    cpu = _cpu_s() - cpu
    out = {"runs": result.total, "passed": result.passed_count, "wall_s": wall, "driver_cpu_s": cpu}
    out["driver_peak_growth_mb"] = _peak_mb() - base_rss
    if client is not None:
        workers_after, scheduler_after = _cluster_cpu(client)
        out["worker_cpu_s"] = workers_after - workers_before
        out["scheduler_cpu_s"] = scheduler_after - scheduler_before
        client.close()
    return out


def voice_case(runs: int, scheduler_file: str | None) -> dict:
    import russo_nb as russo
    from russo_nb.adapters.local import LocalVoiceAgent
    from russo_nb.audio.espeak import EspeakSynthesizer

    prompts = [
        "Book a flight from New York to Los Angeles",
        "What is the weather in Boston",
        "Set an alarm for seven",
        "Play some jazz music",
        "Get me a flight from Chicago to Boston",
        "What's the weather like in Seattle tomorrow",
        "Wake me up at six thirty",
        "Play the Beatles",
    ]
    agent = LocalVoiceAgent.demo(mode="inline")
    executor = client = None
    if scheduler_file:
        from distributed import Client

        from russo_nb.dask_executor import DaskExecutor

        client = Client(scheduler_file=scheduler_file)
        executor = DaskExecutor(client)  # default chunks: they shrink towards the end of the job
    options = dict(synthesizer=EspeakSynthesizer(), agent=agent, runs=max(1, runs // len(prompts)))
    # warm up: every worker (and this process) loads the recogniser's decoder once, as a long job would
    russo.run_concurrent_sync(prompts[:4], synthesizer=EspeakSynthesizer(), agent=agent, runs=2, executor=executor)
    if client is not None:
        workers_before, scheduler_before = _cluster_cpu(client)
    cpu = _process_cpu()
    wall = time.perf_counter()
    result = russo.run_concurrent_sync(prompts, executor=executor, max_concurrency=4, **options)
    wall = time.perf_counter() - wall
    extra = {"driver_cpu_s": _process_cpu() - cpu}
    if client is not None:
        workers_after, scheduler_after = _cluster_cpu(client)
        extra["worker_cpu_s"] = workers_after - workers_before
        extra["scheduler_cpu_s"] = scheduler_after - scheduler_before
        client.close()
    errors = [run.error for run in result.runs if run.status not in ("passed", "failed")]
    first = f"{errors[0].type}: {errors[0].message}" if errors else None
    return {"runs": result.total, "ok": result.total - len(errors), "wall_s": wall, "first_error": first, **extra}


# -- the orchestration ----------------------------------------------------------------------------


def cluster_env() -> dict[str, str]:
    """This environment plus :data:`~russo_nb.dask_executor.CLUSTER_CONFIG` as Dask's environment variables."""
    from russo_nb.dask_executor import CLUSTER_CONFIG

    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for key, value in CLUSTER_CONFIG.items():
        name = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
        env[name] = repr(value) if isinstance(value, bool) else str(value)
    return env


def _case(name: str, runs: int, scheduler_file: str | None) -> dict:
    command = [sys.executable, str(HERE), "--case", name, "--n", str(runs)]
    if scheduler_file:
        command += ["--scheduler-file", scheduler_file]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"case {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Cluster:
    """A scheduler and two one-thread workers, each its own process (stopped by PID on exit)."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="russo-dask-bench-")
        self.file = str(Path(self.dir, "scheduler.json"))
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": cluster_env()}
        module = [sys.executable, "-m"]
        self.procs = [
            subprocess.Popen(
                [
                    *module,
                    "distributed.cli.dask_scheduler",
                    "--scheduler-file",
                    self.file,
                    "--port",
                    "0",
                    "--dashboard-address",
                    ":0",
                ],
                **quiet,
            )
        ]
        for _ in range(2):
            self.procs.append(
                subprocess.Popen(
                    [
                        *module,
                        "distributed.cli.dask_worker",
                        "--scheduler-file",
                        self.file,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                    ],
                    **quiet,
                )
            )
        from distributed import Client

        deadline = time.time() + 60
        while not Path(self.file).exists():
            if time.time() > deadline:
                raise SystemExit("the dask scheduler did not start")
            time.sleep(0.1)
        with Client(scheduler_file=self.file) as client:
            client.wait_for_workers(2, timeout=60)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scheduler-file", help=argparse.SUPPRESS)
    parser.add_argument("--tiny", type=int, default=100_000, help="tiny runs (default 100,000)")
    parser.add_argument("--voice", type=int, default=48, help="espeak + recogniser runs (default 48)")
    parser.add_argument("--only", choices=("tiny", "voice"), help="measure one of the two cases only")
    args = parser.parse_args()
    if args.case:
        case = {"tiny": tiny_case, "voice": voice_case}[args.case]
        print(json.dumps(case(args.n, args.scheduler_file)))
        return

    load_before = os.getloadavg()
    cluster = Cluster()
    try:
        tiny_here, tiny_there = [], []
        for _ in range(2 if args.only != "voice" else 0):
            tiny_here.append(_case("tiny", args.tiny, None))
            tiny_there.append(_case("tiny", args.tiny, cluster.file))
        voice_here, voice_there = [], []
        for _ in range(2 if args.only != "tiny" else 0):
            voice_here.append(_case("voice", args.voice, None))
            voice_there.append(_case("voice", args.voice, cluster.file))
    finally:
        cluster.close()
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {', '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} cores)"
    )
    if tiny_here:
        report_tiny(tiny_here, tiny_there)
    if voice_here:
        report_voice(voice_here, voice_there)


def report_tiny(tiny_here: list[dict], tiny_there: list[dict]) -> None:
    here = min(tiny_here, key=lambda r: r["driver_cpu_s"])
    there = min(tiny_there, key=lambda r: r["driver_cpu_s"] + r["worker_cpu_s"])
    n = here["runs"]
    assert here["passed"] == n and there["passed"] == there["runs"] == n, (here, there)
    here_mb = min(r["driver_peak_growth_mb"] for r in tiny_here)  # memory: the lower of the two runs, each side
    there_mb = min(r["driver_peak_growth_mb"] for r in tiny_there)
    here_us = here["driver_cpu_s"] / n * 1e6
    there_us = (there["driver_cpu_s"] + there["worker_cpu_s"]) / n * 1e6
    print(f"tiny runs, {n:,} runs (text mode, instant agent), best of 2")
    print(
        f"  in process     : {here_us:6.1f} µs CPU per run, wall {here['wall_s']:.2f} s, peak growth {here_mb:.2f} MB"
    )
    print(
        f"  Dask, 2 workers: {there_us:6.1f} µs CPU per run (driver {there['driver_cpu_s'] / n * 1e6:.1f} + workers "
        f"{there['worker_cpu_s'] / n * 1e6:.1f}; scheduler {there['scheduler_cpu_s'] / n * 1e6:.1f} besides), "
        f"wall {there['wall_s']:.2f} s, driver peak growth {there_mb:.2f} MB"
    )
    print(
        "  peak growth of each run (MB): in process "
        + ", ".join(f"{r['driver_peak_growth_mb']:.2f}" for r in tiny_here)
        + "; Dask driver "
        + ", ".join(f"{r['driver_peak_growth_mb']:.2f}" for r in tiny_there)
    )
    extra = there_us - here_us
    print(
        f"  extra CPU per run {extra:+.1f} µs (target ≤ +30): {'MET' if extra <= 30 else 'MISSED'}; driver memory "
        f"{'MET' if there_mb <= here_mb else 'MISSED'} (≤ in-process)"
    )


def report_voice(voice_here: list[dict], voice_there: list[dict]) -> None:
    for case in voice_here + voice_there:  # a run that errored did not do the work: no throughput from it
        if case["ok"] != case["runs"]:
            raise SystemExit(
                f"voice runs errored ({case['runs'] - case['ok']} of {case['runs']}): {case['first_error']}"
            )
    local = min(voice_here, key=lambda r: r["wall_s"])
    remote = min(voice_there, key=lambda r: r["wall_s"])
    rate_here = local["runs"] / local["wall_s"]
    rate_there = remote["runs"] / remote["wall_s"]
    print(f"CPU-bound runs (espeak-ng + pocketsphinx inline), {local['runs']} runs, best of 2")
    print(
        f"  in process     : {rate_here:5.2f} runs/s ({local['ok']} without error); CPU "
        f"{local['driver_cpu_s'] / local['runs'] * 1e3:.0f} ms per run, {local['driver_cpu_s'] / local['wall_s']:.2f} "
        "cores busy on average"
    )
    cpu_there = remote["worker_cpu_s"] + remote["driver_cpu_s"] + remote["scheduler_cpu_s"]
    print(
        f"  Dask, 2 workers: {rate_there:5.2f} runs/s ({remote['ok']} without error); CPU "
        f"{remote['worker_cpu_s'] / remote['runs'] * 1e3:.0f} ms per run on the workers + driver "
        f"{remote['driver_cpu_s'] / remote['runs'] * 1e3:.0f} + scheduler "
        f"{remote['scheduler_cpu_s'] / remote['runs'] * 1e3:.0f}, "
        f"{cpu_there / remote['wall_s']:.2f} cores busy on average"
    )
    ratio = rate_there / rate_here
    # what two idle cores allow at these CPU costs, if the in-process engine keeps one core busy
    bound = min(2.0, 2 * local["driver_cpu_s"] / cpu_there)
    print(
        f"  speed-up {ratio:.2f}× (target ≥ 1.6×): {'MET' if ratio >= 1.6 else 'MISSED'}; at these CPU costs per run "
        f"two idle cores allow at most {bound:.2f}× (one busy core in process)"
    )

    def each(cases: list[dict], cpu: str) -> str:
        rates = (
            f"{case['runs'] / case['wall_s']:.2f} runs/s ({case[cpu] / case['runs'] * 1e3:.0f} ms CPU/run)"
            for case in cases
        )
        return ", ".join(rates)

    here, there = each(voice_here, "driver_cpu_s"), each(voice_there, "worker_cpu_s")
    print(f"  each run, in order: in process {here}; Dask (workers' CPU) {there}")


if __name__ == "__main__":
    main()
