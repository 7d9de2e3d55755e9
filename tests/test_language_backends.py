"""External backends against a local fake OpenAI-compatible server and a tiny random CLIP.

The server listens on 127.0.0.1 only; nothing here touches the network."""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.errors import NotAvailableError
from restora.language.backends import (
    BackendError,
    ChatClient,
    LLMConfig,
    classify_image_with_vlm,
    classify_with_fallback,
    extract_json_object,
    parse_with_fallback,
    parse_with_llm,
    validate_intent_payload,
)
from restora.types import Degradation


class FakeChatServer:
    """A /v1/chat/completions server whose answers the test scripts."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, Any]] = []  # (status, content) consumed in order
        self.delay = 0.0
        self.reject_json_mode = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers)}
                )
                time.sleep(server.delay)
                if server.reject_json_mode and "response_format" in body:
                    status, payload = 400, {"error": "response_format not supported"}
                else:
                    status, content = server.answers.pop(0) if server.answers else (200, "{}")
                    payload = (
                        {"choices": [{"message": {"role": "assistant", "content": content}}]}
                        if status == 200
                        else {"error": "boom"}
                    )
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    yield fake
    fake.close()


def config(server: FakeChatServer, **kwargs: Any) -> LLMConfig:
    return LLMConfig(base_url=server.url, model="tiny", **{"timeout": 5.0, "retries": 1, **kwargs})


INTENT = {"tasks": ["brighten"], "exclude": ["denoise"], "auto": False, "scale": None,
          "strength": "light"}  # fmt: skip


def test_parse_with_llm(server: FakeChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESTORA_LLM_API_KEY", "secret-token")
    server.answers = [(200, json.dumps(INTENT))]
    intent = parse_with_llm("brighten a bit, keep the grain", config(server))
    assert intent.tasks == ("brighten",) and intent.exclude == ("denoise",)
    assert intent.strength == "light" and intent.text == "brighten a bit, keep the grain"
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "tiny"
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert request["body"]["messages"][-1]["content"] == "brighten a bit, keep the grain"
    assert "denoise" in request["body"]["messages"][0]["content"]
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    assert "secret-token" not in repr(config(server))


def test_fenced_json_and_upscale_default(server: FakeChatServer) -> None:
    payload = {**INTENT, "tasks": ["upscale"], "exclude": []}
    server.answers = [(200, "Sure!\n```json\n" + json.dumps(payload) + "\n```")]
    assert parse_with_llm("make it bigger", config(server)).scale == 2


def test_retries_after_server_error(server: FakeChatServer) -> None:
    server.answers = [(500, None), (200, json.dumps(INTENT))]
    assert parse_with_llm("x", config(server, retries=1)).tasks == ("brighten",)
    assert len(server.requests) == 2


def test_json_mode_rejected_then_asked_in_words(server: FakeChatServer) -> None:
    server.reject_json_mode = True
    server.answers = [(200, json.dumps(INTENT))]
    assert parse_with_llm("x", config(server, retries=0)).tasks == ("brighten",)
    assert "response_format" not in server.requests[-1]["body"]


@pytest.mark.parametrize(
    "answer",
    [
        {**INTENT, "tasks": ["paint_a_cat"]},
        {**INTENT, "scale": 7},
        {**INTENT, "strength": "medium"},
        {"tasks": ["denoise"]},
        "not json at all",
    ],
)
def test_invalid_answers_fall_back_with_warning(
    server: FakeChatServer, answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    content = answer if isinstance(answer, str) else json.dumps(answer)
    server.answers = [(200, content)] * 2
    with caplog.at_level(logging.WARNING, logger="restora.language.backends"):
        intent = parse_with_fallback("remove the noise", config(server, retries=0))
    assert intent.tasks == ("denoise",)  # the embedded parser's answer
    assert "embedded parser" in caplog.text


def test_timeout_falls_back(server: FakeChatServer) -> None:
    server.delay = 1.0
    start = time.perf_counter()
    intent = parse_with_fallback("sharpen it", config(server, timeout=0.2, retries=0))
    assert intent.tasks == ("deblur",) and time.perf_counter() - start < 5


def test_unreachable_server() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", timeout=0.5, retries=0)
    with pytest.raises(BackendError, match="failed"):
        ChatClient(cfg).complete([{"role": "user", "content": "hi"}])


def test_public_parse_uses_env(server: FakeChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from restora.language import parse

    monkeypatch.setenv("RESTORA_LLM_URL", server.url)
    monkeypatch.setenv("RESTORA_LLM_MODEL", "from-env")
    server.answers = [(200, json.dumps(INTENT))]
    assert parse("whatever the user said").exclude == ("denoise",)
    assert server.requests[0]["body"]["model"] == "from-env"


def test_config_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RESTORA_LLM_URL", "RESTORA_LLM_CONFIG", "RESTORA_VLM_URL", "RESTORA_VLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert LLMConfig.from_env() is None  # off by default
    path = tmp_path / "llm.json"
    path.write_text(json.dumps({"base_url": "http://127.0.0.1:1/v1", "model": "m", "timeout": 3}))
    monkeypatch.setenv("RESTORA_LLM_CONFIG", str(path))
    monkeypatch.setenv("RESTORA_LLM_RETRIES", "5")
    cfg = LLMConfig.from_env()
    assert cfg is not None and (cfg.model, cfg.timeout, cfg.retries) == ("m", 3, 5)
    assert cfg.endpoint == "http://127.0.0.1:1/v1/chat/completions"
    monkeypatch.setenv("RESTORA_VLM_MODEL", "llava")
    vlm = LLMConfig.from_env("RESTORA_VLM")
    assert vlm is not None and vlm.model == "llava" and vlm.base_url == cfg.base_url
    path.write_text(json.dumps({"base_url": "x", "modle": "typo"}))
    with pytest.raises(NotAvailableError, match="modle"):
        LLMConfig.from_file(path)


def test_validators() -> None:
    assert extract_json_object('text {"a": 1} more') == {"a": 1}
    with pytest.raises(BackendError):
        extract_json_object("[1, 2]")
    intent = validate_intent_payload({**INTENT, "tasks": ["denoise", "denoise"], "scale": 4.0})
    assert intent.tasks == ("denoise",) and intent.scale is None  # no upscale: no scale


def test_vlm_classification(server: FakeChatServer, rng: np.random.Generator) -> None:
    answer = {"degradations": [
        {"type": "haze", "severity": 0.3, "confidence": 0.6},
        {"type": "noise", "severity": 1.4, "confidence": 0.9},
    ]}  # fmt: skip
    server.answers = [(200, json.dumps(answer))]
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


def test_vlm_invalid_answer_falls_back(server: FakeChatServer) -> None:
    server.answers = [(200, json.dumps({"degradations": [{"type": "cats", "severity": 1}]}))]
    fallback = [Degradation("blur", 0.5, 0.7)]
    image = np.zeros((32, 32, 3), np.float32)
    got = classify_with_fallback(image, lambda _: fallback, config(server, retries=0))
    assert got == fallback


# ---------------------------------------------------------------------------- CLIP zero-shot


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIP with a word-level tokenizer, saved like a real checkpoint."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    from restora.language.clip import ABSENT_PROMPTS, PRESENT_PROMPTS

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
    from restora.language.clip import ClipZeroShotClassifier
    from restora.vocabulary import DEGRADATION_TYPES

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
    from restora.language.clip import ClipZeroShotClassifier

    with pytest.raises(NotAvailableError, match=r"config\.json"):
        ClipZeroShotClassifier(tmp_path)
