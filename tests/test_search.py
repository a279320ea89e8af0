"""The search: spaces as data, infeasible candidates never trained, the test set never read,
workers sharing one journal, and a study that continues after a crash. Tiny limits: a few
hundred images, one epoch per trial."""

import json
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tinycnn.builder import build
from tinycnn.cli import main
from tinycnn.data import load
from tinycnn.errors import ConfigError, SpecError
from tinycnn.rules import load_preset, static_conditions
from tinycnn.search import SearchConfig, load_space, search, shipped
from tinycnn.search import objective as search_objective
from tinycnn.search import storage as search_storage
from tinycnn.search.space import from_dict
from tinycnn.table import layer_table
from tinycnn.training import scoring

TINY = dict(epochs=1, val=200, limit_train=400, pruner="none", seeds=1, min_epochs=1)


def cfg(tmp_path, **kw):
    return SearchConfig(**{"space": "course", "trials": 4, "out": str(tmp_path), **TINY, **kw})


def rows(d):
    return [json.loads(line) for line in (d / "trials.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", ["course", "course5k", "early-pool", "frontier4k"])
def test_shipped_spaces_draw_specs_that_build(name):
    """Every candidate is an ordinary spec; under8k's static rules judge it like any spec."""
    space, data = load_space(name), load()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    config, feasible = SearchConfig(space=name), 0
    for _ in range(40):
        cand = space.suggest(study.ask())
        _, why = search_objective.feasibility(cand, config, data)
        try:  # the oracle: the layer table and the preset's rules, asked directly
            table = layer_table(cand.spec, data.input_shape, data.classes)
        except SpecError:
            assert why.startswith("does not fit")  # e.g. 5×5 convs after two pools
            continue
        rules = static_conditions(load_preset("under8k"), cand.spec, 15)
        assert (why == "") == all(c.ok for c in rules if c.name != "epochs"), why
        assert (table.total_params < 8000) == all(c.ok for c in rules if c.name == "params")
        feasible += why == ""
    assert feasible > 0  # the shipped spaces are for the classic budget
    assert set(shipped()) == {"course", "course5k", "early-pool", "frontier4k", "highres4k"}


BAD_SPACES = [
    ({"blocks": []}, "give at least one [[blocks]] table"),
    ({"blocks": [{"convs": 2}]}, "blocks[1]: channels is missing"),
    ({"blocks": [{"convs": 2, "channels": 8, "pad": -1}]}, "blocks[1].pad = -1: give a whole"),
    (
        {"blocks": [{"convs": 2, "channels": 8, "dilation": {"choice": [1, 0]}}]},
        "blocks[1].dilation = 0: give a whole number ≥ 1",
    ),
    ({"blocks": [{"convs": 2, "channels": 8.5}]}, "blocks[1].channels = 8.5: give a whole"),
    (
        {"blocks": [{"convs": 2, "channels": {"float": [4.0, 8.0]}}]},
        "blocks[1].channels = 4.0: give a whole number ≥ 1",
    ),
    ({"blocks": [{"convs": 2, "channels": 8, "width": 3}]}, "blocks[1]: unknown key 'width'"),
    ({"blocks": [{"convs": {"int": [3, 1]}, "channels": 8}]}, "blocks[1].convs: int must be"),
    ({"blocks": [{"convs": {"range": [1, 3]}, "channels": 8}]}, "blocks[1].convs: give a value"),
    (
        {"blocks": [{"convs": 1, "channels": 8, "transition": "avgpool"}]},
        "blocks[1].transition = 'avgpool': use one of none, maxpool, maxpool+squeeze",
    ),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"epochs": 9}}, "unknown key 'epochs'"),
    ({"blocks": [{"convs": 1, "channels": 8}], "head": {"kind": "fc"}}, "head.kind = 'fc'"),
    # issue 28's attack: malformed values are one line naming the key, never a traceback
    ({"blocks": [1, 2, 3]}, "blocks[1] = 1: each block is a [[blocks]] table"),
    ({"blocks": [{"convs": {"int": [1, 3], "step": 0}, "channels": 8}]},
     "blocks[1].convs: step = 0 must be a positive int"),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"lr": {"float": [0, 0.1], "log": True}}},
     "recipe.lr: a log range must start above 0"),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"lr": {"float": [-0.1, 0.1]}}},
     "recipe.lr: lr = -0.1: must be > 0"),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"batch_size": {"choice": [1, 64]}}},
     "recipe.batch_size: batch_size = 1: must be ≥ 2"),
    ({"blocks": [{"convs": 1, "channels": 8}], "head": "1x1-gap"},
     "head = '1x1-gap': give a [head] table of kind"),
    ({"blocks": [{"convs": {"int": [1, 3], "log": "yes"}, "channels": 8}]},
     "blocks[1].convs: log = 'yes' must be true or false"),
    ({"blocks": [{"convs": {"int": [1, "3"]}, "channels": 8}]}, "blocks[1].convs: int must be"),
    # a recipe value of the wrong type is refused before any trial, not failed in every one
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"clean_epochs": "3"}},
     "recipe.clean_epochs: clean_epochs = '3': expected int"),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"batch_size": True}},
     "recipe.batch_size: batch_size = True: expected int"),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"clean_epochs": {"float": [0, 3]}}},
     "recipe.clean_epochs: a whole number; use int = [lo, hi], not float"),
    ({"blocks": [{"convs": 1, "channels": 8}], "recipe": {"clean_epochs": {"int": [0.5, 3]}}},
     "recipe.clean_epochs: int must be [lo, hi]"),
]  # fmt: skip


def test_separable_blocks_are_depthwise_then_pointwise_and_fit_under_4k():
    """frontier4k: a separable 3×3 is a depthwise 3×3 (groups = its channels) then a 1×1; the
    layer table's count is the module's, and under 4k is within the space's reach."""
    space = load_space("frontier4k")
    fixed = {
        "b1.convs": 1, "b1.channels": 8, "b1.transition": "maxpool+squeeze", "b1.squeeze": 8,
        "b2.convs": 3, "b2.channels": 16, "b2.separable": True, "b2.transition": "maxpool",
        "b3.convs": 1, "b3.channels": 20, "b3.separable": True, "head": "1x1-gap",
        "dropout": 0.0, "lr": 0.1, "rotate": 7.0, "batch_size": 128, "label_smoothing": 0.05,
    }  # fmt: skip
    cand = space.suggest(optuna.trial.FixedTrial(fixed))
    convs = [x for x in cand.spec.layers if x.kind == "conv"]
    depthwise = [x for x in convs if x.groups > 1]
    assert [x.groups for x in depthwise] == [8, 16, 16, 16] and all(
        x.out == x.groups for x in depthwise
    )
    table = layer_table(cand.spec)
    assert table.total_params == sum(p.numel() for p in build(cand.spec).parameters()) < 4001
    # RF by hand: conv 3; pool 4 (j 2); 1×1 4; three depthwise 3×3 at j 2: 4 + 3·4 = 16;
    # pool 18 (j 4); one more depthwise 3×3: 18 + 8 = 26 (the 1×1s add nothing)
    assert table.receptive_field == 26 and cand.recipe["label_smoothing"] == 0.05


@pytest.mark.parametrize(("data", "message"), BAD_SPACES)
def test_an_invalid_space_names_the_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_dict(data, "mine.toml")


def test_a_budget_no_candidate_can_meet_is_said_before_training(tmp_path):
    space = tmp_path / "wide.toml"
    space.write_text("[[blocks]]\nconvs = { int = [4, 6] }\nchannels = { int = [64, 96] }\n")
    with pytest.raises(ConfigError, match=r"no candidate among 300 drawn .* meets under8k; the "):
        search(cfg(tmp_path / "runs", space=str(space)))
    assert not (tmp_path / "runs").exists()  # nothing made, nothing trained


def test_search_rejects_before_training_and_never_reads_the_test_set(tmp_path, monkeypatch):
    seen = []
    real = scoring.score
    monkeypatch.setattr(
        scoring, "score", lambda net, x, *a, **k: seen.append(len(x)) or real(net, x, *a, **k)
    )
    monkeypatch.setattr("tinycnn.training.loop.score", scoring.score)
    d = search(cfg(tmp_path, trials=6))
    r = rows(d)
    assert len(r) == 6
    rejected = [x for x in r if x["state"] == "rejected"]
    trained = [x for x in r if x["state"] != "rejected"]
    assert all(x["run"] is None and x["why"] for x in rejected)  # no run, a reason
    assert len(list((d / "trials").iterdir())) == len(trained)  # only feasible ones trained
    assert all(x["params"] < 8000 for x in trained)
    assert seen and set(seen) == {200}  # every evaluation was the validation split's
    best = max((x for x in trained if x["value"] is not None), key=lambda x: x["value"])
    assert best["value"] == best["val_acc"][-1]
    assert (d / "top1.toml").read_text().startswith(f"# search {d.name}, trial {best['number']}")


def test_two_workers_share_one_journal_and_a_study_continues(tmp_path):
    d = search(cfg(tmp_path, trials=4, workers=2))
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(d / search_storage.JOURNAL))
    )
    study = optuna.load_study(study_name=d.name, storage=storage)
    assert len(study.trials) == 4  # Optuna's own view of the journal both workers wrote
    assert len({t.number for t in study.trials}) == 4
    # each worker its own random stream: no candidate drawn twice (one seed drew the same ones)
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4

    # a crash: a trial left RUNNING by a process that no longer exists
    study.ask()
    d2 = search(cfg(tmp_path, trials=2), resume=d)
    assert d2 == d
    study = optuna.load_study(study_name=d.name, storage=storage)
    states = [t.state.name for t in study.trials]
    assert len(states) == 7 and states[4] == "FAIL" and "RUNNING" not in states
    assert len(rows(d)) == 7


def test_search_cli_prints_a_line_per_trial(tmp_path, capsys):
    args = ["search", "early-pool", "--trials", "2", "--epochs", "1", "--val", "200",
            "--limit-train", "400", "--pruner", "none", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out[:2]] == [["trial", "0"], ["trial", "1"]]
    assert out[-2].startswith("2 trials: ") and out[-1].startswith(f"saved: {tmp_path}")


def test_postgresql_two_processes_join_one_study(tmp_path, postgres_url):
    """A real PostgreSQL server (started by the fixture): two worker processes on one study,
    read back through Optuna's own API."""
    d = search(cfg(tmp_path, trials=4, workers=2, storage=postgres_url, study="pg-study"))
    study = optuna.load_study(study_name="pg-study", storage=postgres_url)
    assert len(study.trials) == 4 and all(t.state.is_finished() for t in study.trials)
    assert len(rows(d)) == 4
    # a second machine (here: a second search) joins the same study by URL and name
    d2 = search(cfg(tmp_path, trials=1, storage=postgres_url, study="pg-study"))
    assert (
        d2 != d and len(optuna.load_study(study_name="pg-study", storage=postgres_url).trials) == 5
    )


def test_an_unreachable_database_is_one_line_with_the_password_masked(tmp_path, capsys):
    url = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/nodb"
    args = ["search", "course", "--trials", "1", "--storage", url, "--out", str(tmp_path / "s")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s3cret" not in err
    assert err.startswith("error: postgresql+psycopg://bob:***@127.0.0.1:1/nodb: cannot open")
    assert not (tmp_path / "s").exists()


def test_pareto_front_by_hand():
    from tinycnn.search.report import pareto_front

    points = [(5000, 98.0), (3000, 97.0), (4000, 96.5), (3000, 97.5), (6000, 98.0), (7000, 99.0)]
    # 3000 → 97.5 beats (3000, 97.0); 4000 → 96.5 is beaten; 6000 → 98.0 ties 5000's with more
    assert pareto_front(points) == [(3000, 97.5), (5000, 98.0), (7000, 99.0)]


def test_confirm_retrains_the_best_on_the_test_set_over_seeds(tmp_path):
    d = search(cfg(tmp_path, trials=3, preset=None), confirm_seeds=2, top=1)
    (c,) = json.loads((d / "confirm.json").read_text())
    assert c["rank"] == 1 and c["n"] == 2 and len(c["runs"]) == 2
    for run in c["runs"]:  # whole training split (no validation held out), judged on test
        config = json.loads((Path(run) / "config.json").read_text())
        assert config["recipe"]["val"] == 0 and config["data"]["test"] == 10000
        assert config["recipe"]["epochs"] == 15  # the classic budget when no preset sets one
    md = (d / "search.md").read_text()
    assert f"{c['passed']}/2 met" in md and "pareto.png" in md and (d / "pareto.png").is_file()


def test_a_two_objective_search_has_a_pareto_front(tmp_path):
    d = search(cfg(tmp_path, trials=4, objective="params"))
    study = optuna.load_study(
        study_name=d.name,
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(d / search_storage.JOURNAL))
        ),
    )
    assert [x.name for x in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    done = [r for r in rows(d) if r["state"] == "complete"]
    assert done and all(r["values"][1] == r["params"] for r in done)  # the second objective
    front = {t.number for t in study.best_trials}  # Optuna's Pareto front, by definition:
    for r in done:  # a trial is on it iff no other is at least as good on both and better on one
        beaten = any(
            o["values"][0] >= r["values"][0] and o["params"] <= r["params"]
            and (o["values"][0] > r["values"][0] or o["params"] < r["params"])
            for o in done
        )  # fmt: skip
        assert (r["number"] in front) == (not beaten)
    assert "The study's objectives (accuracy, params): front" in (d / "search.md").read_text()


def test_sqlite_is_accepted_with_a_warning_for_parallel_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.warns(UserWarning, match="SQLite locks the whole database"):
        d = search(cfg(tmp_path, trials=2, workers=2, storage=url, study="lite"))
    assert len(optuna.load_study(study_name="lite", storage=url).trials) == 2
    assert len(rows(d)) == 2


def test_survivors_train_the_full_budget_over_seeds_and_score_as_the_worst(tmp_path):
    # successive halving from epoch 1 of 3: every trial trains with the 3-epoch schedule; the
    # ones that finish train a second seed and score as the lower of the two
    config = cfg(tmp_path, trials=6, epochs=3, pruner="halving", seeds=2, limit_train=300)
    pruner = search_storage.make_study(config, tmp_path).pruner
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert pruner._min_resource == 1 and pruner._reduction_factor == 3
    d = search(config)
    done = [r for r in rows(d) if r["state"] == "complete"]
    assert done, rows(d)
    for r in rows(d):
        if r["state"] in ("complete", "pruned"):  # the budget's schedule, even when stopped
            assert json.loads((Path(r["run"]) / "config.json").read_text())["recipe"]["epochs"] == 3
    for r in done:
        assert len(r["val_acc"]) == 3 and len(r["seed_scores"]) == 2, r
        # epochs 3 < under8k's 15: a short trial scores its last epoch, seed 1's as reported
        assert r["seed_scores"][0] == r["val_acc"][-1]
        assert r["value"] == min(r["seed_scores"])
    runs = list((d / "trials").iterdir())
    assert len(runs) == len([r for r in rows(d) if r["run"]]) + len(done)  # a run per seed


def test_a_seed_scores_its_lowest_epoch_of_the_last_k():
    epochs = [{"val_acc": a} for a in (99.6, 99.5, 99.3, 99.6, 99.4)]
    assert search_objective.score(epochs, 3) == 99.3
    assert search_objective.score(epochs, 1) == 99.4
    assert search_objective.score(epochs, 2) == 99.4


def test_a_search_trains_and_scores_at_the_presets_budget():
    full = SearchConfig(space="course")
    assert (full.budget, full.last_k, full.first_rung, full.seeds) == (15, 3, 3, 2)
    assert SearchConfig(space="course", preset="under10k").budget == 15
    assert SearchConfig(space="course", preset="12k-18k").budget == 19
    short = SearchConfig(space="course", epochs=2)
    assert (short.budget, short.last_k, short.first_rung) == (2, 1, 2)  # a rung ≤ the trial


def test_hyperband_prunes_by_epochs(tmp_path):
    config = cfg(tmp_path, trials=4, epochs=2, pruner="hyperband")
    pruner = search_storage.make_study(config, tmp_path).pruner
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert pruner._max_resource == 2  # its rungs are epochs, up to the trial's last
    d = search(config)
    assert {r["state"] for r in rows(d)} <= {"complete", "pruned", "rejected"}
    for r in rows(d):  # a completed trial ran every epoch; a pruned one stopped before the last
        if r["state"] == "complete":
            assert len(r["val_acc"]) == 2, r
        elif r["state"] == "pruned":
            assert 1 <= len(r["val_acc"]) < 2, r


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resume", "/nonexistent"], "/nonexistent: not a search directory (no search.json)"),
        (["--val", "0"], "val = 0: must be ≥ 1 (a search scores its trials on held-out training"),
        (["--val", "60000"], "val = 60000: the training split has 60,000 images"),
        (
            ["--pruner", "sometimes"],
            "pruner = 'sometimes': use one of halving, hyperband, median, none",
        ),
    ],
)
def test_search_bad_input_is_one_line(tmp_path, capsys, extra, message):
    assert main(["search", "course", "--trials", "1", "--out", str(tmp_path / "s"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "s").exists()


def test_a_high_resolution_layout_is_one_point_of_its_space():
    # 4,4,4 (28×28, padding 1) → pool → 8,8,8 → pool → 8,8,8 → GAP → 1×1, written as a space of
    # fixed values; the oracle: its weights counted by hand, and torch's own count
    space = from_dict(
        {
            "blocks": [
                {"convs": 3, "channels": 4, "pad": 1, "transition": "maxpool"},
                {"convs": 3, "channels": 8, "pad": 1, "transition": "maxpool"},
                {"convs": 3, "channels": 8, "pad": 1},
            ],
            "head": {"kind": "gap-1x1"},
        },
        "t.toml",
    )
    spec = space.suggest(optuna.create_study().ask()).spec
    table = layer_table(spec, (1, 28, 28), 10)
    weights = 1 * 4 * 9 + 2 * (4 * 4 * 9) + 4 * 8 * 9 + 5 * (8 * 8 * 9) + 8 * 10
    bn = 2 * (3 * 4 + 6 * 8)  # a scale and a shift per channel; no conv biases before BN
    assert table.total_params == weights + bn == 3692
    assert table.total_params == sum(p.numel() for p in build(spec, (1, 28, 28), 10).parameters())
    convs = [r for r in table.rows if r.kind == "conv"]
    assert [r.shape[1:] for r in convs[:3]] == [(28, 28)] * 3  # full resolution
    assert max(r.r_out for r in table.rows if r.r_out) >= 28  # the head sees the whole image


def test_stride_and_dilation_are_space_options_with_their_shapes():
    space = from_dict(
        {
            "blocks": [
                {"convs": 2, "channels": 4, "pad": 1, "transition": "stride2"},
                {"convs": 1, "channels": 8, "dilation": 2},
            ]
        },
        "t.toml",
    )
    spec = space.suggest(optuna.create_study().ask()).spec
    table = layer_table(spec, (1, 28, 28), 10)
    convs = [r for r in table.rows if r.kind == "conv"]
    assert [r.n_out for r in convs[:3]] == [28, 14, 10]  # stride 2: 28→14; 5-wide: 14→10
    assert convs[1].j_out == 2 and convs[2].r_out == convs[1].r_out + 4 * 2  # dilation 2: span 5


def test_the_pruner_never_throws_away_a_finished_trial():
    class AlwaysPrune:  # a trial whose pruner says "prune" at every report
        def report(self, value, step):
            self.last = (value, step)

        def should_prune(self):
            return True

    cb = search_objective.ReportToTrial(AlwaysPrune())
    assert cb.on_epoch_end(None, {"val_acc": 90.0, "epoch": 1, "epochs": 3}) is True
    cb = search_objective.ReportToTrial(AlwaysPrune())
    assert cb.on_epoch_end(None, {"val_acc": 95.0, "epoch": 3, "epochs": 3}) is False
    assert not cb.pruned and cb.trial.last == (95.0, 3)  # reported all the same


def test_search_help_lists_the_shipped_spaces_without_loading_optuna():
    code = (
        "import contextlib, io, sys\n"
        "from tinycnn.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['search', '--help'])\n"
        "print('optuna' in sys.modules, ' '.join(out.getvalue().split()))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    loaded, text = r.stdout.split(" ", 1)
    assert loaded == "False", "help imported Optuna"
    assert f"Shipped spaces: {', '.join(shipped())}." in text


def test_a_trial_works_out_its_candidates_table_once(tmp_path, monkeypatch):
    """Feasibility, the preset's rules, the trainer's budgets and the builder all read one
    table: the arithmetic runs once per trial."""
    import tinycnn.builder
    import tinycnn.nets
    import tinycnn.rules.presets
    from tinycnn.search.objective import objective, without_test
    from tinycnn.table import layer_table

    calls = []

    def counted(*a, **k):
        calls.append(a[0].name)
        return layer_table(*a, **k)

    for module in (tinycnn.nets, tinycnn.builder, tinycnn.rules.presets):
        monkeypatch.setattr(module, "layer_table", counted)
    fixed = {"b1.convs": 2, "b1.channels": 8, "b1.transition": "maxpool", "b2.convs": 2,
             "b2.channels": 12, "head": "1x1-gap", "dropout": 0.0, "lr": 0.05, "rotate": 0.0,
             "batch_size": 64}  # fmt: skip
    config = cfg(tmp_path, trials=1)
    value = objective(optuna.trial.FixedTrial(fixed), load_space("course"), config,
                      without_test(load()), tmp_path)  # fmt: skip
    assert value > 0 and len(calls) == 1, calls


def test_workers_started_together_on_a_fresh_database_both_run(tmp_path, postgres_url):
    """A cluster scheduler starts its workers at one instant: against a database no study has
    touched, they race to create Optuna's tables (optuna#1092). Both must run their trials."""
    import subprocess
    import sys

    import psycopg

    admin = postgres_url.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0]
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE race")
    url = postgres_url.rsplit("/", 1)[0] + "/race"
    argv = [sys.executable, "-m", "tinycnn", "search", "course", "--trials", "1", "--storage",
            url, "--study", "race", "--epochs", "1", "--val", "200", "--limit-train", "400",
            "--pruner", "none"]  # fmt: skip
    procs = [subprocess.Popen([*argv, "--out", str(tmp_path / f"w{i}")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-800:] for _, err in outs]
    study = optuna.load_study(study_name="race", storage=url)
    assert len(study.trials) == 3


def test_the_dashboard_sees_named_objectives_and_rejected_candidates(tmp_path):
    d = search(cfg(tmp_path, trials=6))
    study = optuna.load_study(
        study_name=d.name,
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(d / search_storage.JOURNAL))
        ),
    )
    assert study.metric_names == ["val accuracy %"]
    for t in study.trials:
        assert t.user_attrs["spec.toml"].startswith("name = ")
        if "rejected" in t.user_attrs:
            assert t.user_attrs["outcome"] == "rejected before training"


def test_search_md_names_its_study_marks_a_rehearsal_and_reads_recipes(tmp_path):
    d = search(cfg(tmp_path, trials=4))
    md = (d / "search.md").read_text()
    assert f"Study `{d.name}` in {d / 'journal.log'}" in md
    assert "**Rehearsal:** trials trained on the first 400 images only" in md
    assert "Recipe: " in md and "{'" not in md  # recipes read as words, not a dict
