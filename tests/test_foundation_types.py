"""The russo data types: audio containers, tool calls, evaluations, batch results."""

from __future__ import annotations

import wave

import russo_nb as russo
from russo_nb.types import format_call, prompt_id


def _eval(passed: bool, matched: int = 1, expected: int = 1) -> russo.EvalResult:
    calls = [russo.ToolCall(name=f"t{i}") for i in range(expected)]
    matches = [
        russo.ToolCallMatch(expected=c, actual=c if i < matched else None, matched=i < matched)
        for i, c in enumerate(calls)
    ]
    return russo.EvalResult(passed=passed, expected=calls, actual=calls[:matched], matches=matches)


def test_audio_save_writes_a_real_wav_container(tmp_path):
    audio = russo.Audio(data=b"\x01\x00" * 2400, format="wav", sample_rate=24000)
    path = audio.save(tmp_path / "sub" / "clip.wav")
    with wave.open(str(path), "rb") as reader:
        assert reader.getframerate() == 24000
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getnframes() == 2400
    loaded = russo.Audio.load(path)
    assert loaded.data == audio.data
    assert abs(loaded.duration_s - 0.1) < 1e-9


def test_audio_holding_a_container_is_not_wrapped_twice(tmp_path):
    wav = russo.Audio(data=b"\x00\x01" * 100, sample_rate=8000).to_wav_bytes()
    audio = russo.Audio(data=wav, sample_rate=8000)
    assert audio.is_container
    assert audio.pcm == b"\x00\x01" * 100
    assert audio.to_wav_bytes() == wav
    assert "data:audio/wav;base64," in audio._repr_html_()


def test_tool_call_equality_hash_and_source_form():
    a = russo.ToolCall(name="book_flight", arguments={"from_city": "NYC", "to_city": "LA"})
    b = russo.ToolCall(name="book_flight", arguments={"to_city": "LA", "from_city": "NYC"})
    assert a == b and hash(a) == hash(b)
    assert a != russo.ToolCall(name="book_flight", arguments={"from_city": "NYC"})
    assert str(a) == "book_flight(from_city='NYC', to_city='LA')"
    assert russo.parse_expectation(str(a)) == a
    assert format_call("f", {"xs": [1, 2]}) == "f(xs=[1, 2])"
    hash(russo.ToolCall(name="x", arguments={"nested": {"a": [1]}}))  # unhashable values still hash


def test_eval_result_match_rate_and_summary():
    result = _eval(False, matched=1, expected=2)
    assert result.match_rate == 0.5
    text = result.summary()
    assert text.startswith("FAILED (50% match rate)")
    assert "[+] t0() -> t0()" in text and "[-] t1() -> (no match)" in text
    assert russo.EvalResult(passed=True, expected=[], actual=[]).match_rate == 1.0


def test_hand_built_batch_and_seed_summary_format():
    runs = [
        russo.SingleRunResult(prompt="Book a flight from Berlin to Rome", run_index=i, eval_result=_eval(True))
        for i in range(3)
    ] + [
        russo.SingleRunResult(prompt="Fly me from Tokyo to Sydney", run_index=i, eval_result=_eval(i != 1, i != 1))
        for i in range(3)
    ]
    batch = russo.BatchResult(runs=runs)
    assert batch.total == 6 and batch.passed_count == 5 and batch.failed_count == 1
    assert not batch.passed
    assert abs(batch.pass_rate - 5 / 6) < 1e-12
    assert abs(batch.match_rate - 5 / 6) < 1e-12
    assert runs[4].status == "failed" and runs[0].status == "passed"
    assert runs[0].prompt_id == prompt_id("Book a flight from Berlin to Rome")
    assert batch.summary().splitlines() == [
        "FAILED (83% pass rate, 6 runs)",
        "  Passed: 5/6",
        "  Prompt: 'Book a flight from Berlin to Rome'",
        "    3/3 passed",
        "    [+] run 0: 100% match",
        "    [+] run 1: 100% match",
        "    [+] run 2: 100% match",
        "  Prompt: 'Fly me from Tokyo to Sydney'",
        "    2/3 passed",
        "    [+] run 0: 100% match",
        "    [-] run 1: 0% match",
        "    [+] run 2: 100% match",
    ]
    assert batch.prompts == ["Book a flight from Berlin to Rome", "Fly me from Tokyo to Sydney"]
    assert batch.status_counts == {"passed": 5, "failed": 1}


def test_batch_round_trips_through_json():
    run = russo.SingleRunResult(prompt="p", run_index=0, eval_result=_eval(True), latency_s=0.5)
    batch = russo.BatchResult(runs=[run], audio={"k": russo.Audio(data=b"\x00\x00")})
    again = russo.BatchResult.model_validate_json(batch.model_dump_json())
    assert again.runs[0] == run
    assert again.audio["k"].data == b"\x00\x00"
    assert again.metadata.batch_id == batch.metadata.batch_id


def test_error_run_never_counts_as_passed():
    run = russo.SingleRunResult(prompt="p", run_index=0, eval_result=_eval(True), status="error")
    batch = russo.BatchResult(runs=[run])
    assert batch.passed_count == 0 and not batch.passed and not run.passed


def test_printing_audio_shows_its_format_not_its_bytes():
    audio = russo.Audio(data=b"\x00" * 3200, sample_rate=16000)
    assert str(audio) == repr(audio) == "Audio(0.10s, 16000 Hz, 1 ch, 16-bit, 3200 bytes)"
