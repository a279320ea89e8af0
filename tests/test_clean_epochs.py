"""Recipe.clean_epochs: the last N epochs train on un-augmented images; the ones before are
the same run as without it, and a resume inside the clean epochs continues exactly."""

from dataclasses import replace

import pytest

from tinycnn.errors import ConfigError, TrainingInterrupted
from tinycnn.training import Recipe, Runtime, Target, augment, resume, train
from tinycnn.training.callbacks import Hooks

SMALL = Recipe(epochs=3, limit_train=384, limit_test=256, batch_size=64, rotate=7.0, erase=0.5)
KEYS = ("train_loss", "test_loss", "test_correct")


def rt(tmp_path):
    return Runtime(out=str(tmp_path), report=False, threads=1)


def test_strengths_per_epoch():
    r = Recipe(epochs=5, clean_epochs=2, rotate=7.0, shift=0.1, erase=0.5)
    on = {"rotate": 7.0, "shift": 0.1, "scale": 0.0, "erase": 0.5}
    off = dict.fromkeys(on, 0.0)
    assert [augment.strengths_at(r, e) for e in range(5)] == [on, on, on, off, off]
    assert augment.strengths_at(Recipe(epochs=5, rotate=7.0), 4)["rotate"] == 7.0  # 0: never
    # more clean epochs than epochs: the whole run is clean (a --dry-run of such a recipe)
    assert augment.strengths_at(Recipe(epochs=1, clean_epochs=3), 0) == off


def test_a_negative_count_is_refused():
    with pytest.raises(ConfigError, match="clean_epochs"):
        Recipe(clean_epochs=-1)


def test_only_the_epochs_before_the_clean_ones_are_augmented(tmp_path, monkeypatch):
    calls: list[int] = []
    real = augment.augment
    monkeypatch.setattr(augment, "augment", lambda *a, **k: calls.append(1) or real(*a, **k))
    per_epoch: list[int] = []

    def count(row):
        per_epoch.append(len(calls) - sum(per_epoch))

    train("fast7806", replace(SMALL, clean_epochs=1), Target(target=None), rt(tmp_path),
          callbacks=[Hooks(on_epoch=count)])  # fmt: skip
    assert per_epoch == [6, 6, 0]  # 384 images in batches of 64


@pytest.mark.exact
def test_epochs_before_the_clean_ones_are_unchanged_and_a_resume_is_exact(tmp_path):
    plain = train("fast7806", SMALL, Target(target=None), rt(tmp_path / "plain"))
    clean = train("fast7806", replace(SMALL, clean_epochs=1), Target(target=None),
                  rt(tmp_path / "clean"))  # fmt: skip
    rows = [[m[k] for k in KEYS] for m in clean.metrics]
    assert rows[:2] == [[m[k] for k in KEYS] for m in plain.metrics[:2]]
    assert rows[2] != [plain.metrics[2][k] for k in KEYS]

    def stop(m):
        if m["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as e:  # Ctrl-C as the clean epoch begins
        train("fast7806", replace(SMALL, clean_epochs=1), Target(target=None),
              rt(tmp_path / "cut"), callbacks=[Hooks(on_epoch=stop)])  # fmt: skip
    (d,) = e.value.run_dirs
    resumed = resume(d, rt(tmp_path / "cut"))
    assert [[m[k] for k in KEYS] for m in resumed.metrics] == rows
