"""The sweep's surfaces: %russo sweep / %%russo sweep in a real IPython shell, load_sweep, split_levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from notebook_helpers import ipython_shell

import russo_nb as russo
from russo_nb.analysis import by_factor, split_levels
from russo_nb.arguments import parse_magic as parse_command
from russo_nb.audio import to_numpy
from russo_nb.errors import InvalidArgumentError
from russo_nb.sweep import parse_conditions_text, parse_list_text


@russo.agent
async def clear_line(audio):
    """Calls ok() when the pauses are quiet: noise fills them."""
    samples = to_numpy(audio).astype(float)
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    energy = np.sort(np.sqrt((frames**2).mean(axis=1) + 1e-12))
    tenth = max(1, len(energy) // 10)
    spread = 20 * np.log10(energy[-tenth:].mean() / energy[:tenth].mean())
    return [russo.ToolCall(name="ok", arguments={})] if spread > 20 else []


@pytest.fixture(scope="module")
def ip():
    shell = ipython_shell()
    shell.user_ns["clear_line"] = clear_line
    yield shell
    for name in ("clear_line", "sw", "demo_sw"):
        shell.user_ns.pop(name, None)


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("russo:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_text_options_parse():
    assert parse_list_text(" en-us, en-gb-scotland ,") == ["en-us", "en-gb-scotland"]
    assert parse_list_text("") is None
    assert parse_conditions_text("plain=;phone=telephone;fast=speed:1.25") == {
        "plain": None,
        "phone": "telephone",
        "fast": "speed:1.25",
    }
    assert parse_conditions_text("telephone") == {"telephone": "telephone"}
    assert parse_conditions_text("noisy_phone=noise:10db,telephone") == {"noisy_phone": "noise:10db,telephone"}
    with pytest.raises(InvalidArgumentError, match="given twice"):
        parse_conditions_text("a=telephone;a=speed:1.2")
    command = parse_command("sweep --voices en-us,en-029 --snr clean,20,10 --runs 2 --as sw")
    assert command.get("voices") == "en-us,en-029" and command.get("runs") == 2


def test_cell_magic_runs_a_sweep_of_the_cell_prompts(ip):
    line = (
        '--agent clear_line --expect "ok()" --voices en-us,en-029 --snr clean,0 '
        '--conditions "plain=;phone=telephone" --runs 2 --as sw --quiet'
    )
    result = ip.run_cell_magic("russo", f"sweep {line}", "Book a flight to Paris\nSet an alarm for seven\n")
    assert result is ip.user_ns["sw"] and result.total == 2 * 2 * 2 * 2 * 2
    table = by_factor(result, ["snr_db"]).set_index("level")
    assert table.loc["clean", "pass_rate"] == 1.0 and table.loc["0 dB", "pass_rate"] == 0.0
    assert set(result.to_dataframe()["condition"]) == {"plain", "phone"}


def test_line_magic_without_an_agent_sweeps_the_demo(ip):
    result = ip.run_line_magic("russo", "sweep --voices en-us --snr clean --runs 1 --as demo_sw --quiet")
    assert result.total == 16 and set(result.to_dataframe()["voice"]) == {"en-us"}
    assert result.pass_rate >= 0.8  # the offline demo in clean audio


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("sweep --voices en-xx --agent clear_line hello", "no voice 'en-xx'"),
        ("sweep --snr clean,loud --agent clear_line hello", "not a number of dB"),
        ("sweep --noise purple --agent clear_line hello", "noise= must be one of"),
        ("sweep --voicse en-us", "Did you mean --voices"),
    ],
)
def test_magic_mistakes_are_one_line(ip, capsys, line, needle):
    assert ip.run_line_magic("russo", line) is None
    assert needle in one_error(capsys)


def test_load_sweep_reads_the_recorded_sweep():
    from russo_nb.report import load_sweep

    sweep = load_sweep()
    frame = sweep.to_dataframe()
    assert {"voice", "snr_db", "condition"} <= set(frame.columns)
    assert frame["snr_db"].isna().any() and set(frame["snr_db"].dropna()) == {20.0, 10.0, 5.0}
    assert frame["voice"].nunique() == 5
    series = split_levels(sweep, "snr_db", where={"voice": "en-us"})
    assert list(series) == ["5 dB", "10 dB", "20 dB", "clean"]
    assert series["clean"].pass_rate >= series["5 dB"].pass_rate
    assert all(math.isnan(run.conditions["snr_db"]) for run in series["clean"].runs)


def test_load_sweep_still_reads_an_index_of_one_batch_per_level(tmp_path):
    import json

    from russo_nb.report import export, load_sweep

    parts = []
    for snr in (None, 0):
        batch = russo.run_concurrent_sync(
            ["Book a flight"],
            russo.EspeakSynthesizer(),
            clear_line,
            expect=["ok()"],
            runs=2,
            effects=None if snr is None else f"noise:{snr}db",
        )
        name = f"level_{snr}.jsonl"
        export(batch, tmp_path / name)
        parts.append({"label": "clean" if snr is None else f"{snr} dB", "snr_db": snr, "file": name})
    (tmp_path / "index.json").write_text(json.dumps({"batches": parts}))
    sweep = load_sweep(tmp_path / "index.json")
    assert sweep.total == 4
    assert list(split_levels(sweep, "snr_db")) == ["0 dB", "clean"]
    (tmp_path / "bad.json").write_text(json.dumps({"batches": [{"snr_db": None, "file": "../../etc/passwd"}]}))
    with pytest.raises(InvalidArgumentError):
        load_sweep(tmp_path / "bad.json")


def test_explorer_sweep_tab_curves_table_and_cells_that_open_runs():
    result = russo.run_sweep_sync(
        ["Book a flight", "Set an alarm <b>now</b>"],
        agent=clear_line,
        expect=["ok()"],
        voices=["en-us", "en-029"],
        snr_db=[None, 20, 0],
        conditions={"plain": None, "phone": "telephone"},
        runs=2,
    )
    explorer = russo.explore(result)
    assert list(explorer._builders)[:2] == ["Overview", "Sweep"]
    assert "Sweep" not in explorer.built_tabs  # built when opened, not before
    explorer.content("Sweep")
    tab = explorer.sweep
    summary = tab.widget.children[0].value
    assert "Pass rate by voice" in summary and "en-029" in summary and "falls to 90%" in summary
    assert tab.widget.children[1].value[:4] == b"\x89PNG"  # the robustness curves
    assert list(tab.table.columns) == [
        "0 dB · plain",
        "0 dB · phone",
        "20 dB · plain",
        "20 dB · phone",
        "clean · plain",
        "clean · phone",
    ]
    names = [child.value for child in tab.heatmap.children[1].children[:1]]
    assert "&lt;b&gt;now&lt;/b&gt;" in names[0] or "&lt;b&gt;now&lt;/b&gt;" in tab.heatmap.children[2].children[0].value
    tab.voice.value = "en-029"
    tab.buttons[("Set an alarm <b>now</b>", "0 dB · phone")].click()
    runs = [result.runs[i] for i in tab._indices]
    assert len(runs) == 2 and {r.conditions["voice"] for r in runs} == {"en-029"}
    assert {r.conditions["condition"] for r in runs} == {"phone"} and {r.conditions["snr_db"] for r in runs} == {0.0}
    assert tab.detail.index == tab._indices[0]  # opened: its audio and what it heard
    assert tab.detail.audio_box.children and "Set an alarm" in tab.detail.body.value


def test_a_plain_batch_has_no_sweep_tab():
    batch = russo.run_concurrent_sync(["Book a flight"], agent=clear_line, expect=["ok()"], runs=1)
    assert "Sweep" not in russo.explore(batch)._builders


SUITE = """
name: voices
agent: local_voice_demo
intents: {intents}
runs: 1
seed: 4
sweep:
  voices: [en-us, en-029]
  snr_db: [null, -5]
  conditions: {{plain: null, phone: telephone}}
tests:
  - id: weather
    prompts: [What is the weather in Paris]
    expect: ["get_weather(city='Paris')"]
  - id: flight
    prompt: Get me a flight from Chicago to Boston
    expect: ["book_flight(from_city='Chicago', to_city='Boston')"]
"""


def test_suite_sweep_block_runs_and_the_cli_prints_the_by_voice_table(tmp_path, capsys):
    from russo_nb.adapters.local import data_path
    from russo_nb.cli import main
    from russo_nb.config import load_suite, run_suite

    path = tmp_path / "voices.yaml"
    path.write_text(SUITE.format(intents=data_path("demo_intents.yaml")))
    outcome = run_suite(load_suite(path), max_concurrency=2)
    frame = outcome.batch.to_dataframe()
    assert outcome.batch.total == 2 * 2 * 2 * 2 and set(frame["voice"]) == {"en-us", "en-029"}
    assert set(frame["condition"]) == {"plain", "phone"} and frame["snr_db"].isna().sum() == 8
    assert set(outcome.tests) == {"weather", "flight"} and outcome.batch.metadata.params["sweep"]["voices"]
    code = main(["--config", str(path), "--quiet", "--max-concurrency", "2"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "voice" in out and "en-029" in out and "clustered by prompt" in out and "-5 dB" in out


def test_a_bad_sweep_block_names_the_file_and_the_block(tmp_path):
    from russo_nb.adapters.local import data_path
    from russo_nb.config import load_suite, run_suite
    from russo_nb.errors import SuiteFileError

    path = tmp_path / "bad.yaml"
    path.write_text(SUITE.format(intents=data_path("demo_intents.yaml")).replace("en-029", "en-zz"))
    with pytest.raises(SuiteFileError, match=r"bad.yaml: sweep: espeak-ng has no voice 'en-zz'"):
        run_suite(load_suite(path))


def test_history_store_keeps_factors_and_trends_one_voice(tmp_path):
    from russo_nb.store import HistoryStore

    store = HistoryStore(tmp_path / "history.sqlite")
    ids = []
    for seed in (1, 2):
        result = russo.run_sweep_sync(
            ["Book a flight"],
            agent=clear_line,
            expect=["ok()"],
            voices=["en-us", "en-029"],
            snr_db=[None, 0],
            runs=2,
            seed=seed,
        )
        ids.append(store.record(result, suite="voices"))
    loaded = store.load(ids[0])
    assert {"voice", "snr_db", "condition"} <= set(loaded.to_dataframe().columns)
    trend = store.trend(where={"voice": "en-029"})
    assert list(trend["batch_id"]) == ids and list(trend["runs"]) == [4, 4]
    clean = store.trend(where={"voice": "en-029", "snr_db": float("nan")})
    assert list(clean["runs"]) == [2, 2] and list(clean["pass_rate"]) == [1.0, 1.0]
    noisy = store.trend(where={"snr_db": 0.0}, suite="voices")
    assert list(noisy["pass_rate"]) == [0.0, 0.0] and list(noisy["runs"]) == [4, 4]
    assert store.trend(where={"voice": "nobody"}).empty


def test_report_has_a_sweep_section_with_escaped_labels(tmp_path):
    from russo_nb.report import write_report

    evil = "<script>alert('v')</script>"
    result = russo.run_sweep_sync(
        ["Book a flight", "Set an alarm"],
        agent=clear_line,
        expect=["ok()"],
        voices={"en-us": russo.EspeakSynthesizer(), evil: russo.EspeakSynthesizer(voice="en-029")},
        snr_db=[None, 20, 0],
        runs=2,
    )
    html = write_report(result, tmp_path / "sweep.html").read_text()
    assert "Sweep: voices and noise" in html and "Pass rate by voice" in html and "Pass rate by snr_db" in html
    assert "falls to 90%" in html and "russo-sweep-heatmap" in html and "Pass rate against SNR" in html
    assert evil not in html and "&lt;script&gt;" in html
    plain = russo.run_concurrent_sync(["Book a flight"], agent=clear_line, expect=["ok()"])
    assert "Sweep: voices" not in write_report(plain, tmp_path / "plain.html").read_text()
