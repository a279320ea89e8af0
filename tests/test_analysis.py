"""Each analysis rule fires when it should and not otherwise, on hand-made histories."""

from tinycnn.ladder.analysis import StepStats, change, fit, next_step, stability, target

ALL = frozenset({"bn", "dropout", "augmentation", "schedule"})


def stats(test, train=None, target_=99.4, k=3, concepts=ALL):
    test = test if isinstance(test[0], list) else [test]
    train = train or [[a - 0.1 for a in s] for s in test]
    train = train if isinstance(train[0], list) else [train]
    return StepStats(7496, train, test, target_, k, concepts)


def test_fit_rule():
    assert fit(stats([99.0], train=[99.9])).startswith(
        "Over-fitting: best train 99.90% vs test 99.00% (gap 0.90 pp)"
    )
    assert fit(stats([99.5], train=[98.9])).startswith("Train below test")
    assert fit(stats([99.5], train=[99.6])).startswith("No over-fitting")


def test_stability_rule():
    assert stability(stats([99.0, 99.45, 99.5, 99.48])).startswith(
        "Stable: the last 3 epochs stay within 0.05 pp"
    )
    assert stability(stats([99.0, 99.1, 99.5, 99.2])).startswith(
        "Unstable: the last 3 epochs swing by 0.40 pp"
    )
    assert stability(stats([99.0, 99.3, 99.5, 99.4])) == "The last 3 epochs vary by 0.20 pp."


def test_target_rule():
    assert target(stats([99.0, 99.41, 99.5, 99.45])) == (
        "Target 99.4% met by every seed (1/1); the mean held it from epoch 2 on."
    )
    # the mean holds, but one of two seeds missed in its last 3 epochs: not met
    split = stats([[99.0, 99.5, 99.6, 99.6, 99.6], [99.0, 99.45, 99.45, 99.39, 99.5]])
    assert split.mean_held and not split.met and split.seeds_met == 1
    assert target(split) == (
        "The mean held the target 99.4% from epoch 2, but only 1/2 seeds met it: not yet "
        "consistent."
    )
    assert not next_step(split).startswith("Next: the target is met")
    assert target(stats([99.41, 99.0, 99.5, 99.45])) == (
        "Target 99.4% reached in epochs 1, 3, 4 but not held for the last 3."
    )
    assert target(stats([99.0, 99.2])) == (
        "Target 99.4% not reached: the mean test accuracy peaked at 99.20%, 0.20 pp short."
    )
    # one seed touching the target does not make the mean reach it
    two = stats([[99.0, 99.45], [99.0, 99.25]])
    assert target(two).endswith("peaked at 99.35%, 0.05 pp short.")
    assert target(stats([99.0], target_=None)) is None


def test_seeds_met_counts_each_seeds_own_last_k():
    s = stats([[99.0, 99.5, 99.45, 99.41], [99.0, 99.5, 99.39, 99.6]])
    assert s.last_k_mins == [99.41, 99.39] and s.seeds_met == 1


def test_change_rule_against_seed_spread():
    prev = stats([[99.0, 99.30, 99.31, 99.32], [99.0, 99.28, 99.29, 99.30]])
    big = stats([[99.0, 99.50, 99.51, 99.52], [99.0, 99.48, 99.49, 99.50]])
    small = stats([[99.0, 99.31, 99.32, 99.33], [99.0, 99.27, 99.28, 99.29]])
    assert "beyond the seed-to-seed spread" in change(big, prev)
    assert change(big, prev).startswith("+0.20 pp")
    assert "within the seed-to-seed spread" in change(small, prev)
    assert "one seed" in change(stats([99.5]), stats([99.4]))
    assert change(big, None) is None


def test_next_concept_rule():
    assert next_step(stats([99.0], concepts=frozenset())) == "Next: batch norm."
    over = stats([99.0], train=[99.9], concepts=frozenset({"bn"}))
    assert next_step(over) == "Next: dropout, against the over-fitting."
    assert next_step(stats([99.0], concepts=frozenset({"bn", "dropout"}))).startswith(
        "Next: augmentation"
    )
    assert next_step(stats([99.5, 99.5, 99.5])).startswith("Next: the target is met")
    assert next_step(stats([99.0])).startswith("Next: all four concepts are in")


def test_a_network_near_chance_is_not_learning_not_over_fitting():
    from tinycnn.ladder.analysis import analyse

    stuck = stats([11.2, 11.3, 11.35], train=[14.0, 15.0, 16.5], concepts=frozenset({"bn"}))
    out = analyse(stuck, None)
    assert out[0].startswith("Not learning: the best test accuracy is 11.35%")
    assert "near chance (10% for 10 classes)" in out[0] and "Check the LR" in out[0]
    text = " ".join(out)
    assert "Over-fitting" not in text and "Next:" not in text  # no concept is the fix here
    assert analyse(stats([35.0, 40.0, 45.0], train=[40.0, 50.0, 60.0]), None)[0].startswith(
        "Over-fitting"
    )  # learning (4.5× chance), if slowly: the usual rules apply


def test_never_proposes_a_concept_the_step_uses():
    for used in (frozenset(), frozenset({"bn"}), frozenset({"bn", "dropout"}), ALL):
        for train in ([99.0], [99.9]):  # agreeing, over-fitting
            advice = next_step(stats([99.0], train=train, concepts=used))
            from tinycnn.ladder.analysis import CONCEPT_NAMES

            assert not any(f"Next: {CONCEPT_NAMES[c]}" in advice for c in used), (used, advice)


def test_stability_looks_at_three_epochs_even_when_the_preset_judges_one():
    s = stats([99.0, 99.6, 99.2, 99.5], k=1)
    assert (
        stability(s)
        == "Unstable: the last 3 epochs swing by 0.40 pp; a decaying LR schedule steadies the end."
    )
