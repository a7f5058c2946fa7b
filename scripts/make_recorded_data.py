"""Record the demo pipeline across a noise sweep into russo_nb/data/recorded/ (shipped in the wheel).

espeak-ng speaks every demo prompt, white noise is mixed in at each SNR (none, 20, 10,
5 dB; seeded per run), and the local pocketsphinx agent answers. One JSON-lines batch per
SNR plus an index, loadable with ``russo_nb.report.load_sweep()``. Audio is kept for a
few prompts only so the files stay small (see ``--audio-prompts``).

    python scripts/make_recorded_data.py --runs 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from russo_nb.demo import run_demo  # noqa: E402
from russo_nb.report import export  # noqa: E402

LEVELS = [("clean", None), ("20 dB", 20), ("10 dB", 10), ("5 dB", 5)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per prompt and SNR (default 10)")
    parser.add_argument("--out", default=str(ROOT / "russo_nb" / "data" / "recorded"), help="output folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--audio-prompts", type=int, default=2, help="keep run-0 audio of this many prompts per SNR")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for label, snr in LEVELS:
        started = time.perf_counter()
        effects = [f"noise:{snr}db"] if snr is not None else None
        result = run_demo(runs=args.runs, effects=effects, seed=args.seed, max_concurrency=4, name=f"demo {label}")
        result.metadata.params["snr_db"] = snr
        result.metadata.params["sweep"] = "noise"
        # keep a little audio: the clip run 0 heard, for the first few prompts
        keep: set[str] = set()
        for prompt in result.prompts[: args.audio_prompts]:
            first = next(run for run in result.runs if run.prompt == prompt)
            if first.audio_key:
                keep.add(first.audio_key)
        result.audio = {key: clip for key, clip in result.audio.items() if key in keep}
        slug = "clean" if snr is None else f"snr{snr}"
        path = export(result, out / f"noise_sweep_{slug}.jsonl", include_audio=True)
        index.append(
            {
                "label": label,
                "snr_db": snr,
                "file": path.name,
                "batch_id": result.metadata.batch_id,
                "runs": result.total,
                "pass_rate": result.pass_rate,
            }
        )
        print(
            f"{label:>6}: {result.passed_count}/{result.total} passed ({result.pass_rate:.1%}) "
            f"in {time.perf_counter() - started:.0f} s -> {path} ({path.stat().st_size / 1e6:.2f} MB)"
        )
    meta = {
        "description": "The offline demo (espeak-ng -> white noise -> pocketsphinx LocalVoiceAgent) at four noise "
        "levels; one batch per level. Made by scripts/make_recorded_data.py.",
        "runs_per_prompt": args.runs,
        "seed": args.seed,
        "batches": index,
    }
    (out / "noise_sweep.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
