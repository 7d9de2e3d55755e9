"""The AgenticIR protocol benchmark: its group table, the synthesis of each combination and a
tiny end-to-end run (restora.bench.agenticir)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from restora.bench import BENCHMARKS, agenticir
from restora.vocabulary import DEGRADATION_TYPES, SYNTHESIS_TYPES, TASKS


def test_groups_have_agenticirs_combinations() -> None:
    assert {g: len(c) for g, c in agenticir.GROUPS.items()} == {"A": 8, "B": 4, "C": 4}
    assert all(len(combo) == 2 for g in "AB" for combo in agenticir.GROUPS[g])
    assert all(len(combo) == 3 for combo in agenticir.GROUPS["C"])
    names = [agenticir.combination_name(c) for _, c in agenticir.combinations()]
    assert len(set(names)) == 16
    assert names[0] == "rain+haze" and names[-1] == "motion blur+defocus blur+noise"
    assert all(len(set(combo)) == len(combo) for _, combo in agenticir.combinations())


def test_names_map_to_known_types() -> None:
    from restora import degradations

    used = {name for _, combo in agenticir.combinations() for name in combo}
    assert used == set(agenticir.DEGRADATIONS)  # all eight of AgenticIR's degradations
    for name, spec in agenticir.DEGRADATIONS.items():
        assert spec.name == name and spec.type in SYNTHESIS_TYPES and spec.task in TASKS
        assert spec.type in DEGRADATION_TYPES or spec.type == "low_resolution"
        degradations.check_type(spec.type)
    assert len({spec.type for spec in agenticir.DEGRADATIONS.values()}) == 8


def test_parameters_stay_in_agenticirs_ranges() -> None:
    rng = np.random.default_rng(0)
    draws = {
        name: [spec.draw(rng) for _ in range(300)] for name, spec in agenticir.DEGRADATIONS.items()
    }
    gaussian = [d["sigma"] for d in draws["noise"] if d["kind"] == "gaussian"]
    poisson = [d["sigma"] for d in draws["noise"] if d["kind"] == "poisson_gaussian"]
    assert 100 < len(gaussian) < 200 and min(gaussian) >= 20 and max(gaussian) <= 50
    per_scale = 255.0 * math.sqrt(0.5 / 256.0)  # BasicSR Poisson noise std at mid-grey, scale 1
    assert min(poisson) >= per_scale and max(poisson) <= 3 * per_scale
    assert {d["quality"] for d in draws["jpeg compression artifact"]} == set(range(10, 30))
    assert all(0.6 <= d["beta"] <= 1.8 and 0.7 <= d["airlight"] <= 1.0 for d in draws["haze"])
    assert all(not d["noise"] for d in draws["dark"])
    assert {d["sigma"] * 2 for d in draws["defocus blur"]} == {3.0, 4.0, 6.0}
    lengths = {round(d["length"], 2) for d in draws["motion blur"]}
    assert lengths == {6.54, 10.73, 16.97}
    assert all(d["trajectory"] == "linear" for d in draws["motion blur"])
    rain = draws["rain"]
    assert all(0.5 / 256 <= d["density"] < 1.0 / 256 and -30 <= d["angle"] < 30 for d in rain)
    assert all(20.0 <= d["length"] <= 34.0 for d in rain)
    assert all(d == {"scale": 4, "kernel": "matlab_bicubic", "antialias": False}
               for d in draws["low resolution"])  # fmt: skip


def test_synthesis_is_deterministic_and_degrades(small_rgb: np.ndarray) -> None:
    clean = agenticir.centre_crop(small_rgb, 64)
    assert clean.shape == (64, 64, 3)
    for index, (_, combo) in enumerate(agenticir.combinations()):
        pair = agenticir.make_pair("x", clean, combo, 7, index, 0)
        again = agenticir.make_pair("x", clean, combo, 7, index, 0)
        other = agenticir.make_pair("x", clean, combo, 8, index, 0)
        np.testing.assert_array_equal(pair.input, again.input)
        assert pair.meta["degradations"] == again.meta["degradations"]
        small = "low resolution" in combo
        assert pair.input.shape == ((16, 16, 3) if small else clean.shape)
        assert pair.input.dtype == np.float32 and 0.0 <= pair.input.min() <= pair.input.max() <= 1
        np.testing.assert_array_equal(np.round(pair.input * 255) / 255, pair.input)  # 8-bit
        if not small:
            assert float(np.abs(pair.input - clean).mean()) > 0.01, combo
        assert not np.array_equal(pair.input, other.input), combo
        assert [d["name"] for d in pair.meta["degradations"]] == list(combo)
        assert pair.target is clean


def test_centre_crop_keeps_a_multiple_of_the_scale() -> None:
    image = np.zeros((321, 481, 3), np.float32)
    assert agenticir.centre_crop(image, 190).shape == (188, 188, 3)
    assert agenticir.centre_crop(image, None).shape == (320, 480, 3)
    assert agenticir.centre_crop(image, 1000).shape == (320, 480, 3)
    with pytest.raises(ValueError):
        agenticir.centre_crop(image, 3)


def test_fixed_orders_cover_every_permutation() -> None:
    pair = ("rain", "haze")
    assert [agenticir.order_label(o) for o in agenticir.fixed_orders(pair)] == [
        "derain > dehaze",
        "dehaze > derain",
    ]
    triple = ("motion blur", "defocus blur", "noise")
    labels = [agenticir.order_label(o) for o in agenticir.fixed_orders(triple)]
    assert len(labels) == len(set(labels)) == 6
    assert "deblur(motion_blur) > deblur(blur) > denoise" in labels
    for _, combo in agenticir.combinations():
        assert agenticir.agent_order(combo) in agenticir.fixed_orders(combo)
    # the agent's rule: noise and blocks first, upscale last
    assert agenticir.agent_order(("noise", "jpeg compression artifact"))[0] == "jpeg"
    assert agenticir.agent_order(("rain", "noise", "low resolution"))[-1] == "low_resolution"


def _variant(psnr: float) -> dict[str, float]:
    return {"psnr": psnr, "ssim": psnr / 100, "seconds": 1.0, "images": 1}


def test_summary_checks_the_agent_against_the_best_fixed_order() -> None:
    combos = {
        "a": {
            "group": "B",
            "best_order": "x",
            "worst_order": "y",
            "agent_order": "y",
            "variants": {
                "input": _variant(10),
                "seed": _variant(11),
                "x": _variant(20),
                "y": _variant(15),
                "agent": {**_variant(19), "low_resolution": 1},
                "oracle": _variant(21),
            },
        },
        "b": {
            "group": "B",
            "best_order": "y",
            "worst_order": "x",
            "agent_order": "y",
            "variants": {
                "input": _variant(10),
                "seed": _variant(11),
                "x": _variant(12),
                "y": _variant(14),
                "agent": _variant(18),
                "oracle": _variant(21),
            },
        },
    }
    block = agenticir.summarize(combos)["B"]
    assert (
        block["rows"]["fixed_best"]["psnr"] == 17.0 and block["rows"]["fixed_worst"]["psnr"] == 13.5
    )
    assert block["rows"]["fixed_agent_order"]["psnr"] == 14.5
    assert block["rows"]["agent"]["psnr"] == 18.5 and block["agent_beats_every_fixed_psnr"]
    assert block["combinations_agent_beats_best_fixed"] == 1
    text = agenticir.group_tables({"groups": {"B": block}})
    assert "**Group B**" in text and "fixed, best order of each combination | 17.00" in text
    assert "Agent > every fixed pipeline (PSNR): yes" in text
    assert "Outputs left at low resolution" in text and "agent 1 of 2" in text


def test_runs_over_other_groups_merge_into_one_result() -> None:
    def part(group: str, names: list[str], seconds: float) -> dict:
        combos = {
            n: {"group": group, "best_order": "x", "worst_order": "x", "agent_order": "x",
                "variants": {v: _variant(12) for v in ("input", "seed", "x", "agent", "oracle")}}
            for n in names
        }  # fmt: skip
        return {"settings": {"images": ["a"], "size": None}, "combinations": combos,
                "seconds": seconds}  # fmt: skip

    order = [agenticir.combination_name(c) for _, c in agenticir.combinations()]
    merged = agenticir.merge_results([part("C", order[12:], 5.0), part("A", order[:8], 7.0)])
    assert list(merged["combinations"]) == order[:8] + order[12:]  # the protocol's order
    assert set(merged["groups"]) == {"A", "C"} and merged["seconds"] == 12.0
    with pytest.raises(ValueError, match="more than one run"):
        agenticir.merge_results([part("A", order[:1], 1.0), part("A", order[:1], 1.0)])
    other = part("B", order[8:12], 1.0)
    other["settings"]["size"] = 256
    with pytest.raises(ValueError, match="settings"):
        agenticir.merge_results([part("A", order[:8], 1.0), other])


def test_outputs_left_small_are_enlarged_and_counted() -> None:
    from restora.bench.agent import Tally

    target = np.tile(np.linspace(0, 1, 32, dtype=np.float32)[:, None, None], (1, 32, 3))
    tally = Tally()
    assert agenticir._measure(target[::4, ::4], target, tally, 1.0) is True
    assert agenticir._measure(target, target, tally, 1.0) is False
    assert 25 < tally.psnr[0] < 60 and tally.psnr[1] == math.inf and tally.seconds == [1.0, 1.0]


def test_registered_with_the_common_signature() -> None:
    from restora.bench import get_benchmark

    assert BENCHMARKS["agenticir"] == "restora.bench.agenticir:benchmark"
    assert get_benchmark("agenticir") is agenticir.benchmark


@pytest.mark.slow
def test_tiny_end_to_end_run(
    astronaut: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    folder = tmp_path / "clean"
    folder.mkdir()
    Image.fromarray((astronaut[::8, ::8] * 255).round().astype(np.uint8)).save(folder / "a.png")
    out = tmp_path / "out.json"
    argv = ["--source", str(folder), "--images", "1", "--size", "32", "--group", "B"]
    assert agenticir.main([*argv, "--json", str(out), "--markdown"]) == 0
    printed = capsys.readouterr().out
    assert "**Group B** (4 pairs, 1 images each)" in printed and "Group A" not in printed
    assert "| B | rain+dark |" in printed  # the per-combination table of --markdown
    results = json.loads(out.read_text())
    assert set(results["groups"]) == {"B"} and len(results["combinations"]) == 4
    for combo in results["combinations"].values():
        assert len(combo["fixed_orders"]) == 2 and combo["best_order"] in combo["fixed_orders"]
        for row in combo["variants"].values():
            assert row["images"] == 1 and math.isfinite(row["psnr"]) and 0 < row["ssim"] <= 1
            assert row["low_resolution"] in (0, 1)
    block = results["groups"]["B"]
    assert block["rows"]["fixed_best"]["psnr"] >= block["rows"]["fixed_worst"]["psnr"]
    assert isinstance(block["agent_beats_every_fixed_psnr"], bool)


@pytest.mark.needs_data
def test_default_source_is_cbsd68(data_dir: Path) -> None:
    images = agenticir.clean_images(data_dir / agenticir.DEFAULT_SOURCE, 2, 192)
    assert [stem for stem, _ in images] == ["101085", "101087"]
    assert all(image.shape == (192, 192, 3) for _, image in images)


def test_a_missing_source_says_where_to_look(tmp_path: Path) -> None:
    from restora.errors import NotAvailableError

    with pytest.raises(NotAvailableError, match="RESTORA_DATA"):
        agenticir.clean_images(tmp_path / "nope", 1, 32)
