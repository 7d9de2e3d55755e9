"""The real-noise benchmark's scene split and its section, on tiny made-up data (no real run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from restora.bench import BENCHMARKS, run_named
from restora.bench import real_noise as rn

NAMES = [
    f"PolyU_{camera}_{scene}_{shot}_real.jpg"
    for camera in ("Canon5D2_5_160_3200", "NikonD800_6-3_125_5000")
    for scene in ("chair", "plug", "circuit", "toy", "plant_", "classroom", "door", "ball")
    for shot in (1, 2, 3)
]


def test_scene_is_the_word_before_the_shot_number() -> None:
    assert rn.scene_of("PolyU_Canon5D2_5_160_3200_chair_5_real.jpg") == "chair"
    assert rn.scene_of("PolyU_NikonD800_6-3_125_5000_plant__4_real.jpg") == "plant"
    assert rn.scene_of("odd.png") == "odd"


def test_held_out_split_is_deterministic_and_disjoint_by_scene() -> None:
    train, held = rn.split_by_scene(NAMES)
    assert (train, held) == rn.split_by_scene(reversed(NAMES))
    assert set(train).isdisjoint(held) and sorted(train + held) == sorted(NAMES)
    train_scenes = {rn.scene_of(n) for n in train}
    held_scenes = {rn.scene_of(n) for n in held}
    assert train_scenes.isdisjoint(held_scenes) and held_scenes and train_scenes
    assert held_scenes == {"plug", "circuit", "classroom", "door"}  # crc32 % 100 < 30
    picked = rn.pick_evenly(held, 5)
    assert picked == rn.pick_evenly(list(reversed(held)), 5)
    assert len(picked) == 5 and len({rn.scene_of(n) for n in picked}) == 4


def _tiny(data: Path) -> None:
    from restora.io import Image, save

    rng = np.random.default_rng(0)
    for folder in ("real_train/noise", "real_train/noise_gt", "test/RNI15"):
        (data / folder).mkdir(parents=True)
    for name in [*NAMES[:9], "PolyU_Canon5D2_5_160_3200_plug_9_real.jpg"]:
        clean = rng.uniform(0.2, 0.8, (40, 48, 3)).astype(np.float32)
        noisy = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
        save(Image.from_array(noisy), data / "real_train/noise" / name.replace(".jpg", ".png"))
        save(Image.from_array(clean), data / "real_train/noise_gt" / name.replace(".jpg", ".png"))
    for index in range(3):
        noisy = rng.uniform(0, 1, (40, 40, 3)).astype(np.float32)
        save(Image.from_array(noisy), data / "test/RNI15" / f"photo{index}.png")


def test_section_renders_through_run_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark on made-up photos with stand-in methods and metric writes its section."""
    assert BENCHMARKS["real_noise"] == "restora.bench.real_noise:benchmark"
    data = tmp_path / "data"
    _tiny(data)

    def methods(maxim_photos: int) -> list[rn.Method]:
        def blur(image: np.ndarray) -> np.ndarray:
            return (image + np.roll(image, 1, 0) + np.roll(image, 1, 1)) / 3

        return [rn.Method(rn.ANCHOR, blur), rn.Method("slow one", blur, maxim_photos)]

    monkeypatch.setattr(rn, "default_methods", methods)
    real_measure = rn.measure
    monkeypatch.setattr(
        rn,
        "measure",
        lambda p, r, m, log: real_measure(p, r, m, log, quality=lambda x: float(x.mean())),
    )
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# B\n\n<!-- BEGIN real_noise -->\nold\n<!-- END real_noise -->\n")
    outcome = run_named(
        "real_noise", data, False, path=target, photos=3, maxim_photos=1, rni_photos=2, crop=32,
        gaussian_images=0,
    )  # fmt: skip
    text = target.read_text()
    assert "old" not in text and outcome.markdown in text
    # plug and circuit are held out, chair is not; one photo per scene in turn
    assert outcome.results["photos"] == [
        "PolyU_Canon5D2_5_160_3200_circuit_1_real.png",
        "PolyU_Canon5D2_5_160_3200_plug_1_real.png",
        "PolyU_Canon5D2_5_160_3200_circuit_2_real.png",
    ]
    assert "32x32" in text and "| input | 3 |" in text and "| slow one | 1 |" in text
    assert "slow one ran on the first 1 photos only" in text
    assert f"| {rn.ANCHOR} | 3 |" in text and "| 1.00 |" in text  # its own speed ratio
    assert "photo0 | photo1 | mean | change |" in text
    page = (tmp_path / rn.HTML_PAGE).read_text()  # beside the BENCHMARKS.md written
    assert f"({rn.HTML_PAGE})" in text
    assert page.count("<figure>") == 3 * 3 + 1 + 2 * 2 + 1  # the slow one: one photo of each
    assert "data:image/png;base64," in page and "ground truth" in page
    summary = {row["label"]: row for row in outcome.results["summary"]}
    assert summary["input"]["photos"] == 3 and summary["slow one"]["photos"] == 1


def test_white_noise_control_runs_the_networks_and_the_agent(tmp_path: Path) -> None:
    """Part 3: Gaussian noise on (made-up) CBSD68 photos through the two learned denoisers and
    ``--task denoise``; its whiteness is measured next to the PolyU crops'."""
    from restora.experts import names
    from restora.io import Image, save

    if not {rn.ANCHOR, rn.REAL_NOISE_NETWORK} <= set(names()):
        pytest.skip("the learned denoisers are not installed")
    data = tmp_path / "data"
    (data / "test/CBSD68").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(2):
        clean = np.full((64, 72, 3), 0.3 + 0.2 * index, np.float32)
        clean += np.linspace(0, 0.2, 72, dtype=np.float32)[None, :, None]
        save(Image.from_array(clean), data / "test/CBSD68" / f"{index}.png")
    camera = rng.uniform(0.3, 0.6, (48, 48, 3)).astype(np.float32)
    control = rn.gaussian_control(data, 2, [("a.png", camera, camera)], log=lambda line: None)
    labels = [row["label"] for row in control["rows"]]
    assert labels == ["input", rn.ANCHOR, rn.REAL_NOISE_NETWORK, "agent, --task denoise"]
    inputs, *outputs = (float(np.mean(row["psnr"])) for row in control["rows"])
    assert all(value > inputs + 3 for value in outputs)  # sigma 25 on smooth photos: removed
    assert min(control["whiteness"]["gaussian"]) > control["whiteness"]["white_from"]
    assert sum(control["agent_kept"].values()) == 2
    text = "\n".join(rn._control_markdown(control))
    assert "White-noise control" in text and f"| {rn.ANCHOR} | 2 |" in text
