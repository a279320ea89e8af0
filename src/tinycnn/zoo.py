"""The model zoo: registered specs (data, not classes), each with its description and provenance.

Add a model by writing a `Spec` and calling `register`; the test suite sweeps every entry
(builds, forward, gradients, table vs module), so a new entry is tested without new tests.
An entry whose evidence was measured under other training settings than the default recipe
registers them too (`recipe=`): training it by name starts from those settings, the way timm
models carry their default config, so the zoo's numbers are reproducible by name alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import SpecError
from .spec import Spec, avgpool, conv, gap, linear, load_spec_file, maxpool

# the fastest zoo model that meets the classic target most consistently (15/16 seeds against
# gap7496's 11/16: benchmarks/results/default_recipe_*_bf16.json)
DEFAULT_MODEL = "fast7806"
_ZOO: dict[str, Spec] = {}
_RECIPES: dict[str, Mapping[str, Any]] = {}  # a model's changes from the default recipe

# the recipe the search drew for course-t11 (docs/search/top2.run.toml): batch 64, peak LR 0.0994
_T11_RECIPE = {"batch_size": 64, "lr": 0.09944730745393786}
TRANSITION = ("bn", "relu")  # 1×1 channel-reducing convs: no dropout
HEAD = ()  # the classifier layer: raw logits


def pool_first(first: int, widths: tuple[int, int, int, int]) -> tuple:
    """fast7806's layout at other widths: one 3×3 conv at full resolution, then pool, then four
    3×3 convs, GAP and a 1×1 head. The shapes and receptive fields do not depend on the widths."""
    return (
        conv(first),  # 28→26, RF 3
        maxpool(),  # 26→13, RF 4
        *(conv(w) for w in widths),  # 13→11→9→7→5, RF 8→12→16→20
        gap(),  # 5→1, RF 28
        conv("classes", k=1, then=HEAD),
    )


def squeeze_first(first: int, squeeze: int, width: int) -> tuple:
    """The course search's layout (course-t11, course-t14) at other widths: one 3×3 conv at full
    resolution, pool, a 1×1 squeeze, four 3×3 convs, GAP and an FC head. The shapes and
    receptive fields do not depend on the widths."""
    return (
        conv(first),  # 28→26, RF 3
        maxpool(),  # 26→13, RF 4
        conv(squeeze, k=1, then=TRANSITION),  # the next conv's weights shrink with it
        *(conv(width) for _ in range(4)),  # 13→11→9→7→5, RF 8→12→16→20
        gap(),  # 5→1, RF 28
        linear("classes", then=HEAD),
    )


def register(spec: Spec, recipe: Mapping[str, Any] | None = None) -> Spec:
    """`recipe`: Recipe fields this model was measured with, where they differ from the
    defaults (checked when a run builds its Recipe)."""
    if spec.name in _ZOO:
        raise ValueError(f"zoo already has a model named {spec.name!r}")
    _ZOO[spec.name] = spec
    _RECIPES[spec.name] = MappingProxyType(dict(recipe or {}))
    return spec


def recipe(model: str | Path | Spec) -> dict[str, Any]:
    """The recipe changes a zoo model is trained with by name; {} for spec files and Specs
    (their recipe is the caller's: a run file or flags)."""
    return dict(_RECIPES.get(model, {})) if isinstance(model, str) else {}


def names() -> list[str]:
    return list(_ZOO)


def get(name: str) -> Spec:
    try:
        return _ZOO[name]
    except KeyError:
        raise SpecError(
            f"unknown model {name!r}; zoo models: {', '.join(_ZOO)} (or give a spec .toml file)"
        ) from None


def is_file_model(text: str) -> bool:
    """`path/to/file.py:NAME`: your own nn.Module, not a spec (nets.py loads it)."""
    path, _, attr = text.rpartition(":")
    return path.endswith(".py") and bool(attr)


def resolve(model: str | Path | Spec) -> Spec:
    """A zoo name, a spec file path, or a Spec → Spec."""
    if isinstance(model, Spec):
        return model
    text = str(model)
    if text in _ZOO:
        return _ZOO[text]
    if text.endswith(".toml") or Path(text).exists():
        return load_spec_file(text)
    return get(text)


register(
    Spec(
        name="gap7496",
        description="two 3×3 convs, maxpool, 1×1 squeeze, three 3×3 convs, GAP, 1×1 "
        "head; BN + ReLU + dropout after each conv, no padding, no bias",
        source="published 'under 8k' MNIST solution: 7,496 params, 99.53% in 15 epochs "
        "(SGD + OneCycleLR, rotation ±7°)",
        dropout=0.05,
        layers=(
            conv(8),
            conv(16),  # 28→26→24, RF 3→5
            maxpool(),  # 24→12, RF 6
            conv(8, k=1, then=TRANSITION),  # squeeze 16→8
            conv(12),
            conv(16),
            conv(20),  # 12→10→8→6, RF 10→14→18
            gap(),  # 6→1, RF 28
            conv(16, k=1),
            conv("classes", k=1, then=HEAD),
        ),
    )
)

register(
    Spec(
        name="fast7806",
        description="one 3×3 conv at full resolution, maxpool, four 3×3 convs, GAP, 1×1 "
        "head; BN + ReLU + dropout after each conv, no padding, no bias",
        source="tinycnn, for training speed under the 'under 8k' budget: pooling after the "
        "first conv drops the 16×24×24 maps that dominate gap7496's CPU step (0.50 vs 1.03 "
        "MMACs per image); benchmarks/results/default_recipe_fast7806_bf16.json",
        dropout=0.05,
        layers=pool_first(10, (12, 16, 16, 16)),
    )
)


register(
    Spec(
        name="fast5768",
        description="fast7806 narrowed to 8 | 12, 12, 14, 14 channels: the same layout, "
        "dropout and receptive field",
        source="tinycnn, issue 18's ≤ 6,000-param entry: fast7806's widths scaled down by hand, "
        "no other change (not selected on the test set); examples/ladders/ladder5_frontier.toml "
        "walks there; benchmarks/results/preset_seeds_fast5768.json",
        dropout=0.05,
        layers=pool_first(8, (12, 12, 14, 14)),
    )
)

register(
    Spec(
        name="fast4692",
        description="fast7806 narrowed to 8 | 10, 12, 12, 12 channels: the same layout, "
        "dropout and receptive field",
        source="tinycnn, issue 18's ≤ 5,000-param entry: the next width cut after fast5768 "
        "(examples/ladders/ladder5_frontier.toml), by hand, not selected on the test set; "
        "benchmarks/results/preset_seeds_fast4692.json",
        dropout=0.05,
        layers=pool_first(8, (10, 12, 12, 12)),
    )
)

register(
    Spec(
        name="fast3964-b64",
        description="fast7806 narrowed to 8 | 8, 10, 12, 12 channels (under 4,000 params), "
        "trained at batch 64: the same layout, dropout and receptive field",
        source="tinycnn, issue 18's ≤ 4,000-param entry: the last width cut of "
        "examples/ladders/ladder5_frontier.toml (fast3964: 1/16 seeds under the default "
        "recipe, benchmarks/results/preset_seeds_fast3964.json), then course-t11's recipe "
        "(queued before either run ended; validation ranks it first too: "
        "benchmarks/candidates/README.md); benchmarks/results/preset_seeds_fast3964-b64.json",
        dropout=0.05,
        layers=pool_first(8, (8, 10, 12, 12)),
    ),
    recipe=_T11_RECIPE,  # what its 16 seeds ran with (benchmarks/candidates/fast3964_b64.run.toml)
)

# what the full-budget search drew for course-t14 (docs/search/course-under6k/top1.run.toml)
_T14_RECIPE = {"lr": 0.04310555095304949, "rotate": 5.0}

register(
    Spec(
        name="course-t14",
        description="one 3×3 conv of 14 at full resolution, maxpool, a 1×1 squeeze to 12, "
        "four 3×3 convs of 12, GAP, FC head (under 6,000 params)",
        source="tinycnn's full-budget search (space `course`, preset under6k: 15 epochs per "
        "finished trial, 2 seeds, worst seed's last-3 validation minimum), trial 14, ranked "
        "first: docs/search/course-under6k/search.md, top1.toml + top1.run.toml; "
        "benchmarks/results/preset_seeds_course-t14.json",
        dropout=0.05,
        layers=squeeze_first(14, 12, 12),
    ),
    recipe=_T14_RECIPE,  # what its 16 seeds ran with
)

# course-t14's recipe at batch 64 with an EMA of the weights: +0.07 pp on validation over its own
# (benchmarks/candidates/README.md, third round; benchmarks/candidates/course-t14-w11.run.toml)
_W11_RECIPE = {**_T14_RECIPE, "batch_size": 64, "ema": 0.999}

register(
    Spec(
        name="course-t14-w11",
        description="course-t14's layout with four 3×3 convs of 11 (under 5,000 params), "
        "trained at batch 64 with an average of the weights",
        source="tinycnn: course-t14 (the full-budget search's best under 6,000) narrowed by one "
        "channel by hand, its recipe's levers screened on validation (benchmarks/candidates/"
        "README.md); benchmarks/results/preset_seeds_course-t14-w11.json",
        dropout=0.05,
        layers=squeeze_first(14, 12, 11),
    ),
    recipe=_W11_RECIPE,  # what its 16 seeds ran with
)

# what the full-budget search drew for highres4k-t34 (docs/search/highres4k/top1.run.toml)
_T34_RECIPE = {
    "batch_size": 64,
    "lr": 0.18513347971153143,
    "momentum": 0.85,
    "pct_start": 0.1,
    "final_div_factor": 10.0,
    "rotate": 5.0,
    "shift": 0.05,
    "scale": 0.05,
}

register(
    Spec(
        name="highres4k-t34",
        description="two padded 3×3 convs of 8 at full resolution, pool, two of 10 at 14×14, "
        "pool, one dilated 3×3 conv of 16, GAP, 1×1 head (under 4,000 params)",
        source="tinycnn's full-budget search (space `highres4k`, preset under4k: 15 epochs "
        "per finished trial, 2 seeds, worst seed's last-3 validation minimum), trial 34, "
        "ranked first: docs/search/highres4k/search.md, top1.toml + top1.run.toml; "
        "benchmarks/results/preset_seeds_highres4k-t34.json",
        dropout=0.05,
        layers=(
            conv(8, pad=1),
            conv(8, pad=1),  # 28×28, RF 3→5
            maxpool(),  # 28→14, RF 6
            conv(10, pad=1),
            conv(10, pad=1),  # 14×14, RF 10→14
            maxpool(),  # 14→7, RF 16
            conv(16, dilation=2),  # 7→3, a 5×5 window: RF 32
            gap(),  # 3→1, RF 40
            conv("classes", k=1, then=HEAD),
        ),
    ),
    recipe=_T34_RECIPE,  # what its 16 seeds ran with
)

register(
    Spec(
        name="seq9274",
        description="padded 3×3 convs with bias, ReLU then BN, two maxpools, two valid "
        "convs, 3×3 average pool",
        source="published 'under 10k' MNIST solution: 9,274 params, 99.5%",
        order="relu-bn",
        bias=True,
        layers=(
            conv(4, pad=1),
            conv(4, pad=1),
            conv(8, pad=1),  # 28×28
            maxpool(),  # 28→14
            conv(12, pad=1),
            conv(12, pad=1),
            conv(16, pad=1),  # 14×14
            maxpool(),  # 14→7
            conv(20),  # 7→5
            conv("classes", then=HEAD),  # 5→3
            avgpool(3, stride=2),  # 3→1
        ),
    )
)

register(
    Spec(
        name="nofc17k",
        description="no fully connected layer (budget <20k, no FC): 8 convs with BN, "
        "1×1 squeeze after the pool, GAP before a 1×1 head",
        source="tinycnn, for the '<20k params, no FC' assignment (published 99.54% with a similar "
        "8-conv BN net and an LR schedule)",
        dropout=0.05,
        layers=(
            conv(16),
            conv(32),  # 28→26→24
            maxpool(),  # 24→12
            conv(16, k=1, then=TRANSITION),
            conv(16),
            conv(16),
            conv(16),
            conv(32),  # 12→10→8→6→4
            gap(),  # 4→1, RF 28
            conv("classes", k=1, then=HEAD),
        ),
    )
)

register(
    Spec(
        name="fc14k",
        description="for the 12k–18k assignment: BN, 1×1 conv, GAP and an FC layer, "
        "dropout 0.069 after every conv",
        source="tinycnn, for the '12k–18k params, 19 epochs, BN + GAP + FC + 1×1 + dropout 0.069' "
        "assignment",
        dropout=0.069,
        layers=(
            conv(10),
            conv(16),  # 28→26→24
            maxpool(),  # 24→12
            conv(10, k=1, then=TRANSITION),
            conv(16),
            conv(16),
            conv(20),
            conv(24),  # 12→10→8→6→4
            gap(),  # 4→1
            linear(32),  # the FC layer
            linear("classes", then=HEAD),
        ),
    )
)

register(
    Spec(
        name="course-t11",
        description="one 3×3 conv at full resolution, maxpool, a 1×1 squeeze to 6 channels, "
        "four 3×3 convs of 14, GAP, FC head; BN + ReLU + dropout after each 3×3 conv",
        source="tinycnn's search (space `course`, preset `under8k`, 3 epochs per trial on a "
        "validation split), trial 11: docs/search/search.md, top2.toml + top2.run.toml; the "
        "smallest model here to meet the classic target on 16/16 seeds, under its own recipe "
        "(batch 64, peak LR 0.0994): benchmarks/results/preset_seeds_course-t11.json",
        dropout=0.05,
        layers=squeeze_first(12, 6, 14),  # squeeze 12→6: the next conv's weights halve
    ),
    # what the search drew for it and its 16 seeds ran with (docs/search/top2.run.toml)
    recipe=_T11_RECIPE,
)
