"""Record the demo pipeline across voices and noise levels into russo_nb/data/recorded/ (shipped in the wheel).

One sweep (``russo_nb.start_sweep``): espeak-ng speaks every demo prompt in five voices, white
noise is mixed in at each SNR (none, 20, 10, 5 dB; seeded per run), and the local pocketsphinx
agent answers. Written as one JSON-lines batch (``voice_sweep.jsonl.gz``) whose runs carry
``voice`` / ``snr_db`` / ``condition``, plus an index, loadable with ``russo_nb.report.load_sweep()``.
Audio is kept for a few clips only so the file stays small (see :func:`kept_clips`).

    python scripts/make_recorded_data.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from russo_nb.adapters.local import LocalVoiceAgent  # noqa: E402
from russo_nb.demo import demo_suite  # noqa: E402
from russo_nb.report import export  # noqa: E402
from russo_nb.sweep import run_sweep_sync  # noqa: E402

VOICES = ["en-us", "en-us+klatt", "en-gb-scotland", "en-029", "en-gb-x-gbcwmd"]
SNRS = [None, 20, 10, 5]
FILE = "voice_sweep.jsonl.gz"
INDEX = "voice_sweep.json"


def kept_clips(result: object, prompts: list[str], args: argparse.Namespace) -> set[str]:
    """Audio keys worth shipping: run 0 of the first ``--audio-prompts`` prompts in en-us at every level, and of
    the first prompt in every other voice, clean and at the noisiest level."""
    import math

    noisiest = min(level for level in SNRS if level is not None)
    keep: set[str] = set()
    for run in result.runs:  # type: ignore[attr-defined]
        if run.run_index or not run.audio_key:
            continue
        voice, snr = run.conditions["voice"], run.conditions["snr_db"]
        if voice == VOICES[0] and run.prompt in prompts[: args.audio_prompts]:
            keep.add(run.audio_key)
        elif run.prompt == prompts[0] and (math.isnan(snr) or snr == noisiest):
            keep.add(run.audio_key)
    return keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per prompt, voice and SNR (default 5)")
    parser.add_argument("--out", default=str(ROOT / "russo_nb" / "data" / "recorded"), help="output folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--audio-prompts", type=int, default=2, help="keep en-us run-0 audio of this many prompts")
    parser.add_argument("--trim", action="store_true", help="only re-apply kept_clips to the recorded file")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suite = demo_suite()
    if args.trim:
        from russo_nb.report import load_sweep

        result = load_sweep(out / INDEX)
        result.audio = {
            key: clip for key, clip in result.audio.items() if key in kept_clips(result, suite.prompts, args)
        }
        path = export(result, out / FILE, include_audio=True)
        print(f"{len(result.audio)} clips kept -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
        return 0
    agent = LocalVoiceAgent.demo()
    agent.warm_up()
    started = time.perf_counter()
    result = run_sweep_sync(
        suite.prompts,
        agent=agent,
        expect=suite.expect,
        voices=VOICES,
        snr_db=SNRS,
        runs=args.runs,
        seed=args.seed,
        max_concurrency=args.max_concurrency,
        name="demo voices x noise",
        tags=["demo", "sweep"],
    )
    elapsed = time.perf_counter() - started
    keep = kept_clips(result, suite.prompts, args)
    result.audio = {key: clip for key, clip in result.audio.items() if key in keep}
    path = export(result, out / FILE, include_audio=True)
    from russo_nb.analysis import by_factor

    table = by_factor(result, ["voice", "snr_db"])
    index = {
        "description": "The offline demo (espeak-ng in five voices -> white noise -> pocketsphinx LocalVoiceAgent) "
        "at four noise levels, as one sweep whose runs carry voice / snr_db / condition. "
        "Made by scripts/make_recorded_data.py.",
        "format": "sweep",
        "file": path.name,
        "batch_id": result.metadata.batch_id,
        "runs": result.total,
        "runs_per_cell": args.runs,
        "seed": args.seed,
        "voices": VOICES,
        "snr_db": SNRS,
        "pass_rates": {row.level: round(float(row.pass_rate), 4) for row in table.itertuples()},
    }
    (out / INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    print(f"{result.total} runs in {elapsed:.0f} s -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
    print(table[["level", "finished", "pass_rate", "low", "high"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
