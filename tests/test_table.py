"""Receptive-field tables against the published ones (hand-computed in the write-ups)."""

from tinycnn import build, layer_table, verify, zoo
from tinycnn.spec import Spec, conv, gap, maxpool

SPATIAL = ("conv", "maxpool", "avgpool", "gap")


def rf_path(table):
    return [(r.r_out, r.j_out) for r in table.rows if r.kind in SPATIAL]


def test_gap7496_published_table():
    t = layer_table(zoo.get("gap7496"))
    assert [r for r, _ in rf_path(t)] == [3, 5, 6, 6, 10, 14, 18, 28, 28, 28]
    assert [j for _, j in rf_path(t)] == [1, 1, 2, 2, 2, 2, 2, 2, 2, 2]
    convs = [r for r in t.rows if r.kind in SPATIAL]
    assert [r.n_out for r in convs] == [26, 24, 12, 12, 10, 8, 6, 1, 1, 1]
    assert t.total_params == 7496


def test_six_iterations_valid_table():
    # two 3×3 valid convs, maxpool, four 3×3 valid convs, GAP(4)
    s = Spec(
        "iter", (conv(8), conv(16), maxpool(), conv(16), conv(16), conv(16), conv("classes"), gap())
    )
    t = layer_table(s)
    assert [r for r, _ in rf_path(t)] == [3, 5, 6, 10, 14, 18, 22, 28]
    assert t.rows[-1].kernel == 4  # the GAP window is the whole 4×4 map


def test_six_iterations_padded_table():
    # two 3×3 pad-1 convs first, maxpool, five 3×3 valid convs, GAP
    s = Spec(
        "iter_pad",
        (
            conv(8, pad=1),
            conv(8, pad=1),
            maxpool(),
            conv(16),
            conv(16),
            conv(16),
            conv(16),
            conv("classes"),
            gap(),
        ),
    )
    t = verify(build(s))
    assert [r for r, _ in rf_path(t)][-3:] == [22, 26, 32]
    assert [r for r, _ in rf_path(t)] == [3, 5, 6, 10, 14, 18, 22, 26, 32]


def test_hand_computed_params_and_macs():
    # conv 1→4 3×3 no bias on 28×28: 36 params, 26·26·4·9 MACs; BN 2·4; linear 4→10 with bias
    from tinycnn.spec import linear

    s = Spec("tiny", (conv(4, then=("bn", "relu")), gap(), linear("classes", bias=True, then=())))
    t = layer_table(s)
    assert [r.params for r in t.rows] == [36, 8, 0, 0, 4 * 10 + 10]
    assert t.macs == 26 * 26 * 4 * 9 + 4 * 10
    assert t.total_params == sum(p.numel() for p in build(s).parameters())


def test_readme_spec_example_matches_its_comments():
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = re.search(r'```toml\n(name = "mine".*?)```', readme, re.S).group(1)
    t = layer_table(Spec.from_toml(block))
    assert [r.r_out for r in t.rows if r.kind in SPATIAL] == [3, 4, 8, 12, 28]
    assert [r.n_out for r in t.rows if r.kind in SPATIAL] == [26, 13, 11, 9, 1]
