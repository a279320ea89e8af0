"""The course's models (the published baseline, the assignment variants) and the default's
width cuts toward the frontier."""

from __future__ import annotations

from ..spec import Spec, avgpool, conv, gap, linear, maxpool
from .registry import register

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
