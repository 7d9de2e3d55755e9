"""The architecture's promises (docs/architecture.md): an expert is one descriptor, the judge is
one injected object, one request reaches every expert with its device, imports run one way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from restora.agent import DefaultJudge, RestoreRequest, restore
from restora.agent.judge import Assessment
from restora.cli import main
from restora.experts import Expert, register, unregister
from restora.types import Analysis, Degradation, QualityScore
from restora.vocabulary import DEGRADATION_TYPES

CALLS: list[dict[str, object]] = []


def _spy_denoiser(image: np.ndarray, device: str = "auto", amount: float = 0.5) -> np.ndarray:
    """Records how it was called; pulls the image towards its local mean (a real smoothing)."""
    import cv2

    CALLS.append({"device": device, "amount": amount, "shape": image.shape})
    smooth = cv2.GaussianBlur(image, (0, 0), 1.2)
    return (image + amount * (smooth - image)).astype(np.float32)


class NoisyAnalyzer:
    """Reports strong noise whatever the image (so the agent always plans a denoise step)."""

    def analysis(self, image: np.ndarray) -> Analysis:
        scores = {t: 0.0 for t in DEGRADATION_TYPES}
        scores["noise"] = 0.95
        return Analysis(
            (Degradation("noise", 0.4, 0.95),), "noisy", QualityScore(40, "poor"), scores
        )


@pytest.fixture()
def spy_expert() -> Iterator[str]:
    """A new expert, registered in one place: its descriptor says everything."""
    CALLS.clear()
    register(
        "spy_denoiser",
        Expert(
            "spy_denoiser",
            "denoise",
            "learned",
            run=_spy_denoiser,
            params={"device": "auto", "amount": 0.5},
            devices=("cpu", "cuda"),
            rank=-1,  # ahead of every shipped denoiser
            seconds_per_mp=0.1,
            description="test spy",
        ),
    )
    yield "spy_denoiser"
    unregister("spy_denoiser")


@pytest.fixture()
def noisy_file(tmp_path: Path, small_rgb: np.ndarray) -> Path:
    import cv2

    from restora.io import Image, save

    # noise correlated between neighbours, as cameras leave it: the step's candidates follow
    # the ranks (white noise would choose the Gaussian-trained network, test_noise_whiteness)
    rng = np.random.default_rng(0)
    grain = cv2.GaussianBlur(rng.normal(0, 0.2, small_rgb.shape).astype(np.float32), (0, 0), 1.0)
    noisy = np.clip(small_rgb + grain, 0, 1).astype(np.float32)
    return Path(save(Image.from_array(noisy), tmp_path / "noisy.png"))


def test_a_new_expert_is_listed_run_by_task_and_tried_by_the_agent(
    spy_expert: str, noisy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["experts", "--json"]) == 0
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out)["experts"]}
    assert listed[spy_expert]["rank"] == -1 and listed[spy_expert]["seconds_per_mp"] == 0.1

    out = noisy_file.with_name("task.png")
    assert main(["restore", str(noisy_file), "-o", str(out), "--task", "denoise", "--json"]) == 0
    (step,) = json.loads(capsys.readouterr().out)["steps"]
    # the fidelity judge chooses among the task's best experts: the new one is among them
    tried = [a["expert"] for a in step["candidates"]]
    assert tried[0] == spy_expert and out.is_file()

    CALLS.clear()
    result = restore(noisy_file, analyzer=NoisyAnalyzer())
    tried = [a.expert for s in result.trace.steps for a in s.attempts]
    assert tried[0] == spy_expert and CALLS


def test_the_device_reaches_every_expert(spy_expert: str, noisy_file: Path) -> None:
    restore(noisy_file, analyzer=NoisyAnalyzer(), device="cpu")
    assert CALLS and {c["device"] for c in CALLS} == {"cpu"}
    CALLS.clear()
    request = RestoreRequest(tasks=("denoise",), explicit=True, device="cpu", params={"amount": 1})
    restore(noisy_file, request=request, analyzer=NoisyAnalyzer())
    assert [{"device": "cpu", "amount": 1, "shape": CALLS[0]["shape"]}] == CALLS


def test_the_cli_device_option_reaches_the_expert_without_the_environment(
    spy_expert: str, noisy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("RESTORA_DEVICE", raising=False)
    out = noisy_file.with_name("dev.png")
    args = ["restore", str(noisy_file), "-o", str(out), "--task", "denoise", "--device", "cpu"]
    assert main(args) == 0
    assert CALLS and CALLS[-1]["device"] == "cpu"
    assert "RESTORA_DEVICE" not in os.environ


class PicksTheLeastChange(DefaultJudge):
    """A judge that prefers whatever changes the image least, and keeps everything."""

    def assess(self, image: np.ndarray, analysis: Analysis | None = None) -> Assessment:
        found = analysis if analysis is not None else NoisyAnalyzer().analysis(image)
        return Assessment(found, 100.0 - 1000.0 * float(np.abs(np.diff(image, axis=0)).mean()))

    def keeps(self, gain: float, asked: bool) -> bool:
        return True


def test_an_injected_judge_decides(spy_expert: str, noisy_file: Path) -> None:
    result = restore(noisy_file, judge=PicksTheLeastChange(weight_residual=0, weight_others=0))
    (step,) = [s for s in result.trace.steps if s.task == "denoise"]
    best = max((a for a in step.attempts if a.score is not None), key=lambda a: a.quality or 0.0)
    assert step.kept and (step.expert, step.blend) == (best.expert, best.blend)
    assert result.quality_before is not None and result.quality_after is not None
    assert result.to_dict()["quality"]["after"] == pytest.approx(result.quality_after, abs=1e-3)


def test_the_all_in_one_network_is_loaded_once_for_every_task() -> None:
    from restora.experts import get_expert
    from restora.experts.learned import _MODULES
    from restora.experts.registry import names

    if "allinone_denoise" not in names():
        pytest.skip("the all-in-one weights are not installed")
    image = np.full((32, 32, 3), 0.5, np.float32)
    for task in ("denoise", "derain", "dehaze"):
        get_expert(f"allinone_{task}")(image, device="cpu")
    loaded = [key for key in _MODULES if "allinone" in key[0]]
    assert loaded == [("nafnet_allinone", "cpu")]


@pytest.mark.skipif(
    shutil.which("lint-imports") is None
    and not (Path(sys.executable).parent / "lint-imports").exists(),
    reason="import-linter not installed",
)
def test_the_import_contract_holds() -> None:
    tool = Path(sys.executable).parent / "lint-imports"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([str(tool)], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
