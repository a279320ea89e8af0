"""The smallest designs: what tinycnn's searches found, and the cuts of them screened on a
validation split (benchmarks/candidates/README.md), each with the recipe its seeds ran with."""

from __future__ import annotations

from ..spec import Spec, conv, gap, linear, maxpool
from .classic import HEAD, TRANSITION, pool_first
from .registry import register

# the recipe the search drew for course-t11 (docs/search/top2.run.toml): batch 64, peak LR 0.0994
T11_RECIPE = {"batch_size": 64, "lr": 0.09944730745393786}


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
    recipe=T11_RECIPE,
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
    recipe=T11_RECIPE,  # what its 16 seeds ran with (benchmarks/candidates/fast3964_b64.run.toml)
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

register(
    Spec(
        name="t14-b64ema",
        description="course-t14's layout (under 6,000 params) trained at batch 64 with an average "
        "of the weights: course-t14-w11's recipe at course-t14's widths",
        source="tinycnn: course-t14 (the full-budget search's best under 6,000) with the recipe "
        "levers screened on validation (benchmarks/candidates/README.md, third and fifteenth "
        "rounds; t14_b64ema.toml + .run.toml); benchmarks/results/preset_seeds_t14-b64ema.json",
        dropout=0.05,
        layers=squeeze_first(14, 12, 12),
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

# what the H200's full-budget search drew for trial 37 (docs/search/highres4k-h200/top1.run.toml)
_T37_RECIPE = {
    "batch_size": 64,
    "lr": 0.28700994758698223,
    "pct_start": 0.1,
    "final_div_factor": 1000.0,
    "ema": 0.999,
    "rotate": 10.0,
    "shift": 0.05,
    "scale": 0.1,
    "aug_p": 0.5,
}

register(
    Spec(
        name="highres4k-t37-w14",
        description="a padded 3×3 conv of 8 at full resolution, a stride-2 conv, three of 8 at "
        "14×14, pool, a 1×1 to 10, one dilated 3×3 conv of 14, GAP, 1×1 head (under 4,000 params)",
        source="tinycnn's full-budget search on one H200 (space `highres4k`, preset under4k, "
        "3 seeds per finished trial), trial 37, ranked first (docs/search/highres4k-h200/), its "
        "last conv widened from 12 to 14 by hand (benchmarks/candidates/README.md, fourteenth "
        "round); benchmarks/results/preset_seeds_highres4k-t37-w14.json (CPU) and "
        "stacked_h200_highres4k-t37-w14.json (GPU)",
        layers=(
            conv(8, pad=1),  # 28×28, RF 3
            conv(8, pad=1, stride=2),  # 28→14, RF 5
            conv(8, pad=1),
            conv(8, pad=1),
            conv(8, pad=1),  # 14×14, RF 9→13→17
            maxpool(),  # 14→7, RF 19
            conv(10, k=1, then=TRANSITION),  # the dilated conv's weights shrink with it
            conv(14, dilation=2),  # 7→3, a 5×5 window: RF 35
            gap(),  # 3→1, RF 43
            conv("classes", k=1, then=HEAD),
        ),
    ),
    recipe=_T37_RECIPE,  # what its 16 seeds ran with
)
