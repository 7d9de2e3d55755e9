"""``restora experts`` and ``restora restore`` contracts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restora.cli import main


def test_experts_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experts", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = [e["name"] for e in payload["experts"]]
    assert "cbm3d" in names and "ibp" in names
    for entry in payload["experts"]:
        for key in ("name", "task", "backend", "scale", "params", "needs", "devices", "suited_to"):
            assert key in entry
    suited = {e["name"]: e["suited_to"] for e in payload["experts"] if e["suited_to"]}
    if "nafnet_denoise" in names:
        assert suited == {"nafnet_denoise": ["white noise"]}
        assert main(["experts", "--task", "denoise"]) == 0
        assert "chosen when the photo shows: white noise" in capsys.readouterr().out


@pytest.fixture()
def noisy_png(tmp_path: Path, small_rgb: np.ndarray, rng: np.random.Generator) -> Path:
    noisy = np.clip(small_rgb + rng.normal(0, 0.08, small_rgb.shape), 0, 1)
    path = tmp_path / "noisy.png"
    Image.fromarray((noisy * 255).round().astype(np.uint8)).save(path)
    return path


def test_restore_json_contract(noisy_png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = noisy_png.with_name("out.png")
    assert main(["restore", str(noisy_png), "-o", str(out), "--task", "denoise", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["output"] == str(out) and out.is_file()
    for key in ("analysis_before", "analysis_after", "intent", "steps"):
        assert key in payload
    (step,) = payload["steps"]
    assert step["task"] == "denoise" and step["kept"] is True
    for key in ("score_before", "score_after", "seconds"):
        assert key in step
    # the judge saw the noise in the input, and none is left in the output
    assert "noise" in [d["type"] for d in payload["analysis_before"]["degradations"]]
    assert "noise" not in [d["type"] for d in payload["analysis_after"]["degradations"]]


def test_restore_task_runs_the_best_expert_of_the_task(
    noisy_png: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--task denoise`` tries the task's best expert first for the noise measured (the
    learned denoisers when they ship: the Gaussian one for white noise, else the real-noise
    one), the same one the agent tries first, not the registry's first entry; with the fidelity
    judge it keeps the candidate judged best among the task's best experts."""
    from restora.agent.candidates import candidates_for
    from restora.experts.registry import LEARNED_EXPERTS, names
    from restora.io import load
    from restora.quality.statistics import has_white_noise

    out = noisy_png.with_name("best.png")
    assert main(["restore", str(noisy_png), "-o", str(out), "--task", "denoise", "--json"]) == 0
    (step,) = json.loads(capsys.readouterr().out)["steps"]
    white = has_white_noise(load(noisy_png).rgb)
    conditions = ("white noise",) if white else ()
    found = candidates_for("denoise", conditions=conditions)
    assert step["candidates"][0]["expert"] == found[0].name
    best_two = candidates_for("denoise", max_seconds_per_mp=20.0, conditions=conditions)[:2]
    assert step["expert"] in {c.name for c in best_two} | {found[0].name}
    network = "nafnet_denoise" if white else "nafnet_denoise_real"
    if network in names() and network in LEARNED_EXPERTS:
        assert step["candidates"][0]["expert"] == network


def test_restore_expert_with_params(noisy_png: Path) -> None:
    out = noisy_png.with_name("up.png")
    code = main(["restore", str(noisy_png), "-o", str(out), "--expert", "lanczos", "--scale", "2"])
    assert code == 0
    assert Image.open(out).size == (256, 192)
    assert (
        main(
            [
                "restore",
                str(noisy_png),
                "-o",
                str(out),
                "--expert",
                "nlm",
                "--param",
                "sigma=20",
                "--overwrite",
            ]
        )
        == 0
    )


def test_restore_errors_exit_2(noisy_png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = noisy_png.with_name("x.png")
    # without --task/--expert the agent runs; an instruction it cannot act on is a usage error
    assert main(["restore", str(noisy_png), "-o", str(out), "-i", "add a cat"]) == 2
    assert "cannot do" in capsys.readouterr().err
    assert main(["restore", str(noisy_png), "-o", str(out), "--expert", "nope"]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert (
        main(["restore", str(noisy_png), "-o", str(out), "--expert", "nlm", "--param", "bogus=1"])
        == 2
    )
    assert (
        main(
            ["restore", str(noisy_png), "-o", str(out), "--task", "denoise", "--expert", "lanczos"]
        )
        == 2
    )
