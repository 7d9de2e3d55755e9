"""Analyzer backends: CLIP zero-shot on a tiny random CLIP and a VLM behind a fake chat server.

Both go through the call sites users have: ``restora.perception.get_analyzer(backend=...)`` and
``restora analyze --analyzer``. The server listens on 127.0.0.1 only; nothing touches the
network."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.errors import NotAvailableError, UnknownNameError
from restora.language.backends import LLMConfig
from restora.perception.vlm import VlmClassifier, classify_image_with_vlm
from restora.types import Analysis, Degradation
from restora.vocabulary import DEGRADATION_TYPES, QUALITY_LEVELS
from tests.helpers import run_cli
from tests.test_language_backends import FakeChatServer, server  # noqa: F401 - the fixture

VLM_ANSWER = {"degradations": [
    {"type": "haze", "severity": 0.3, "confidence": 0.6},
    {"type": "noise", "severity": 1.4, "confidence": 0.9},
]}  # fmt: skip


def config(fake: FakeChatServer, **kwargs: Any) -> LLMConfig:
    return LLMConfig(base_url=fake.url, model="tiny", **{"timeout": 5.0, "retries": 0, **kwargs})


@pytest.fixture()
def image_file(tmp_path: Path, small_rgb: np.ndarray) -> Path:
    from restora.io import Image, save

    return save(Image(small_rgb), tmp_path / "x.png")


# ---------------------------------------------------------------------------- CLIP zero-shot


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIP with a word-level tokenizer, saved like a real checkpoint."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    from restora.perception.clip import ABSENT_PROMPTS, PRESENT_PROMPTS

    folder = tmp_path_factory.mktemp("tiny_clip")
    words = sorted(
        {
            w
            for p in (*PRESENT_PROMPTS.values(), *ABSENT_PROMPTS.values())
            for s in p
            for w in s.replace(",", " ").split()
        }
    )
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2,
                     "max_position_embeddings": 32, "projection_dim": 16,
                     "pad_token_id": 0, "eos_token_id": 1},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8,
                       "projection_dim": 16},
        projection_dim=16,
    )  # fmt: skip
    CLIPModel(cfg).save_pretrained(folder)
    return folder


def test_clip_zero_shot(tiny_clip_dir: Path, small_rgb: np.ndarray) -> None:
    from restora.perception.clip import ClipZeroShotClassifier

    classifier = ClipZeroShotClassifier(tiny_clip_dir, device="cpu", threshold=0.0)
    probs = classifier.probabilities(small_rgb)
    assert list(probs) == list(DEGRADATION_TYPES)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert classifier.preprocess(small_rgb).shape == (1, 3, 32, 32)
    found = classifier.classify(small_rgb)
    assert len(found) == len(DEGRADATION_TYPES)
    assert [d.confidence for d in found] == sorted((d.confidence for d in found), reverse=True)
    classifier.threshold = 1.01
    assert classifier.classify(small_rgb) == []
    # same image, same answer; grey input works too
    assert classifier.probabilities(small_rgb) == probs
    assert len(classifier.probabilities(small_rgb[..., 0])) == len(DEGRADATION_TYPES)


def test_clip_missing_folder(tmp_path: Path) -> None:
    from restora.perception.clip import ClipZeroShotClassifier

    with pytest.raises(NotAvailableError, match=r"config\.json"):
        ClipZeroShotClassifier(tmp_path)


def test_clip_backend_through_get_analyzer(tiny_clip_dir: Path, small_rgb: np.ndarray) -> None:
    from restora.perception import analyze, get_analyzer

    analyzer = get_analyzer(tiny_clip_dir, "cpu", backend="clip")
    assert get_analyzer(tiny_clip_dir, "cpu", backend="clip") is analyzer  # loaded once
    analysis = analyzer.analysis(small_rgb)
    assert isinstance(analysis, Analysis)
    assert list(analysis.scores) == list(DEGRADATION_TYPES)  # the judge reads every type
    for item in analysis.degradations:
        assert item.confidence >= 0.5 and analysis.scores[item.type] == item.confidence
    assert analysis.caption and analysis.quality.level in QUALITY_LEVELS
    assert analysis.quality.source == "quality"  # no quality head: restora's NR score
    assert analyze(small_rgb, weights=tiny_clip_dir, device="cpu", backend="clip") == analysis


def test_analyze_cli_with_clip(
    tiny_clip_dir: Path, image_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["analyze", image_file, "--analyzer", "clip", "--weights", tiny_clip_dir, "--json"]
    code, out, err = run_cli(capsys, *args, "--device", "cpu")
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload) >= {"degradations", "caption", "quality"}
    assert set(payload["scores"]) == set(DEGRADATION_TYPES)


def test_analyzer_backend_errors(
    image_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from restora.perception import get_analyzer

    with pytest.raises(UnknownNameError, match="embedded, clip, vlm"):
        get_analyzer(backend="dino")
    code, _, err = run_cli(capsys, "analyze", image_file, "--analyzer", "clip")
    assert code == 2 and "--weights DIR" in err and "Traceback" not in err
    for name in ("RESTORA_VLM_URL", "RESTORA_LLM_URL", "RESTORA_LLM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run_cli(capsys, "analyze", image_file, "--analyzer", "vlm")
    assert code == 2 and "RESTORA_VLM_URL" in err


# ------------------------------------------------------------------------------------- VLM


def test_vlm_classification(server: FakeChatServer, rng: np.random.Generator) -> None:  # noqa: F811
    server.answers = [(200, json.dumps(VLM_ANSWER))]
    image = rng.random((1000, 300, 3), dtype=np.float32)
    found = classify_image_with_vlm(image, config(server, max_image_side=256))
    assert [d.type for d in found] == ["noise", "haze"]  # most confident first
    assert found[0].severity == 1.0  # clamped into [0, 1]
    content = server.requests[0]["body"]["messages"][0]["content"]
    assert "low_light" in content[0]["text"]
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    from PIL import Image as PILImage

    picture = PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert max(picture.size) == 256 and picture.mode == "RGB"


def test_vlm_invalid_answer_falls_back(
    server: FakeChatServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.answers = [(200, json.dumps({"degradations": [{"type": "cats", "severity": 1}]}))]
    fallback = ([Degradation("blur", 0.5, 0.7)], {"blur": 0.7})
    classifier = VlmClassifier(config(server), fallback=lambda _: fallback)
    with caplog.at_level(logging.WARNING, logger="restora.perception.vlm"):
        assert classifier.detect(np.zeros((32, 32, 3), np.float32)) == fallback
    assert "fallback" in caplog.text


def test_vlm_backend_through_the_cli(
    server: FakeChatServer,  # noqa: F811
    image_file: Path,
    tiny_weights: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RESTORA_LLM_CONFIG", raising=False)
    monkeypatch.setenv("RESTORA_VLM_URL", server.url)
    monkeypatch.setenv("RESTORA_VLM_MODEL", "tiny-vlm")
    monkeypatch.setenv("RESTORA_VLM_RETRIES", "0")
    server.answers = [(200, json.dumps(VLM_ANSWER))]
    args = ["analyze", image_file, "--analyzer", "vlm", "--weights", tiny_weights, "--json"]
    code, out, err = run_cli(capsys, *args, "--device", "cpu")
    assert code == 0, err
    payload = json.loads(out)
    assert [d["type"] for d in payload["degradations"]] == ["noise", "haze"]
    assert payload["scores"]["noise"] == 0.9 and payload["scores"]["rain"] == 0.0
    assert "noise" in payload["caption"] or "grain" in payload["caption"]
    assert server.requests[-1]["body"]["model"] == "tiny-vlm"
    # an endpoint that fails: the embedded analyzer (here the tiny weights) answers
    server.answers = [(500, None)]
    code, out, err = run_cli(capsys, *args, "--device", "cpu")
    assert code == 0, err
    assert "using the fallback" in err
    from restora.io import load
    from restora.perception import analyze

    embedded = analyze(load(image_file), weights=tiny_weights, device="cpu")
    assert json.loads(out)["degradations"] == embedded.to_dict()["degradations"]
    assert json.loads(out)["scores"] == embedded.to_dict()["scores"]
