"""ExactEvaluator: names, arguments, order, extras, and the diff it explains misses with."""

from __future__ import annotations

from russo_nb import ToolCall, tool_call
from russo_nb.evaluators import ExactEvaluator


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(name=name, arguments=dict(arguments))


def test_exact_match_passes_and_extra_argument_fails_by_default():
    expected = [tool_call("book_flight", from_city="NYC", to_city="LA")]
    assert ExactEvaluator().evaluate(expected, [call("book_flight", from_city="NYC", to_city="LA")]).passed
    result = ExactEvaluator().evaluate(expected, [call("book_flight", from_city="NYC", to_city="LA", seat="12A")])
    assert not result.passed
    assert result.matches[0].details == "unexpected argument seat='12A'"


def test_ignore_extra_args_accepts_a_superset():
    evaluator = ExactEvaluator(ignore_extra_args=True)
    result = evaluator.evaluate([tool_call("book_flight")], [call("book_flight", from_city="NYC")])
    assert result.passed and result.match_rate == 1.0


def test_diff_names_the_closest_call_and_each_difference():
    expected = [tool_call("book_flight", from_city="NYC", to_city="LA")]
    actual = [call("get_weather", city="LA"), call("book_flight", from_city="NYC", to_city="LAX")]
    result = ExactEvaluator().evaluate(expected, actual)
    match = result.matches[0]
    assert not match.matched
    assert match.actual == actual[1]
    assert match.details == "to_city: expected 'LA', got 'LAX'"
    assert "book_flight(from_city='NYC', to_city='LAX')" in result.summary()


def test_missing_call_and_missing_argument_are_explained():
    result = ExactEvaluator().evaluate([tool_call("set_alarm", time="7am")], [])
    assert result.matches[0].details == "no call to set_alarm was made"
    result = ExactEvaluator().evaluate([tool_call("set_alarm", time="7am")], [call("set_alarm")])
    assert result.matches[0].details == "missing argument time='7am'"


def test_order_matters_only_when_asked():
    expected = [tool_call("a"), tool_call("b")]
    actual = [call("b"), call("a")]
    assert ExactEvaluator().evaluate(expected, actual).passed
    ordered = ExactEvaluator(match_order=True).evaluate(expected, actual)
    assert not ordered.passed
    assert ordered.matches[0].matched and not ordered.matches[1].matched
    assert "out of order" in ordered.matches[1].details


def test_extra_calls_fail_only_when_not_ignored():
    expected = [tool_call("a")]
    actual = [call("a"), call("z", q=1)]
    assert ExactEvaluator().evaluate(expected, actual).passed
    strict = ExactEvaluator(ignore_extra_calls=False).evaluate(expected, actual)
    assert not strict.passed
    assert strict.details == "unexpected extra calls: z(q=1)"


def test_each_actual_call_is_used_once():
    expected = [tool_call("a", x=1), tool_call("a", x=1)]
    result = ExactEvaluator().evaluate(expected, [call("a", x=1)])
    assert not result.passed and result.match_rate == 0.5


def test_any_object_with_evaluate_is_an_evaluator():
    from russo_nb.protocols import check_evaluator

    class Lenient:
        def evaluate(self, expected, actual):
            return ExactEvaluator(ignore_extra_args=True).evaluate(expected, actual)

    assert check_evaluator(Lenient())
