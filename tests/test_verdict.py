"""Verdict logic on hand-made metric histories."""

import pytest

from tinycnn.errors import ConfigError
from tinycnn.training import Target, judge


def test_pass_line_names_every_condition():
    v = judge(
        Target(99.4, 3, max_params=8000, max_epochs=15), [98.0, 99.41, 99.45, 99.53], 7496, 15
    )
    assert v.passed
    assert v.line() == (
        "PASS  test ≥ 99.40% in each of the last 3 epochs (99.41, 99.45, 99.53) "
        "· 7,496 ≤ 8,000 params · 15 ≤ 15 epochs"
    )


def test_one_epoch_below_fails():
    v = judge(Target(99.4, 3), [99.5, 99.39, 99.6], 7496, 3)
    assert not v.passed and v.line().startswith("FAIL  ✗ test ≥ 99.40%")


def test_earlier_dips_do_not_matter():
    assert judge(Target(99.4, 2), [99.0, 99.5, 99.45], 1, 3).passed


def test_too_few_epochs_fails():
    v = judge(Target(99.4, 3), [99.9, 99.9], 1, 2)
    assert not v.passed and "only 2 epochs ran" in v.line()


def test_budget_conditions():
    v = judge(Target(None, max_params=8000, min_params=5000), [99.0], 9000, 1)
    assert [c.ok for c in v.conditions] == [False, True]
    assert "9,000 > 8,000 params" in v.line() and "9,000 ≥ 5,000 params" in v.line()
    v = judge(Target(None, max_params=20000, min_params=12000), [99.0], 9000, 1)
    assert [c.ok for c in v.conditions] == [True, False]
    assert "9,000 < 12,000 params" in v.line()


def test_a_budget_no_model_can_meet_is_refused():
    with pytest.raises(ConfigError, match="min_params = 12000 is above max_params = 8000"):
        Target(None, max_params=8000, min_params=12000)


def test_boundary_is_inclusive():
    assert judge(Target(99.4, 1, max_params=8000), [99.4], 8000, 1).passed
