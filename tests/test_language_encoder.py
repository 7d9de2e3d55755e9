"""MiniLM text encoder and the semantic fallback of the parser (loads the model once)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from restora.language.encoder import TextEncoder, embed_text, get_text_encoder
from restora.language.parser import SemanticClauseClassifier, parse_instruction


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return get_text_encoder("cpu")


@pytest.fixture(scope="module")
def classifier(encoder: TextEncoder) -> SemanticClauseClassifier:
    return SemanticClauseClassifier(encode=encoder.encode)


def test_encode_shape_norm_and_cache(encoder: TextEncoder) -> None:
    out = encoder.encode(["remove the noise", "brighten the dark photo", "remove the noise"])
    assert out.shape == (3, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out[0], out[2])
    assert get_text_encoder("cpu") is encoder  # loaded once per process
    assert embed_text("remove the noise", device="cpu").shape == (384,)
    with pytest.raises(TypeError):
        encoder.encode("a bare string")  # type: ignore[arg-type]


def test_embeddings_are_semantic(encoder: TextEncoder) -> None:
    a, b, c = encoder.encode(["the photo is grainy", "there is a lot of noise", "add a cat"])
    assert float(a @ b) > float(a @ c)


def test_thread_safe(encoder: TextEncoder) -> None:
    texts = [f"sentence {i} about haze" for i in range(8)]
    expected = encoder.encode(texts)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(encoder.encode(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("clause", "label"),
    [
        ("please make the text legible", "deblur"),
        ("I can hardly make out the faces", "brighten"),
        ("hello there", "other"),
    ],
)
def test_semantic_fallback(classifier: SemanticClauseClassifier, clause: str, label: str) -> None:
    assert classifier.classify(clause)[0] == label


def test_parse_uses_fallback_for_unlisted_phrasing(classifier: SemanticClauseClassifier) -> None:
    intent = parse_instruction("please make the text legible", classifier=classifier)
    assert intent.tasks == ("deblur",)
    nonsense = parse_instruction("asdfgh qwerty", classifier=classifier)
    assert nonsense.tasks == () and not nonsense.auto and nonsense.unsupported


def test_text_model_folder_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from restora.language.encoder import model_path
    from restora.settings import reload

    monkeypatch.setenv("RESTORA_TEXT_MODEL", str(tmp_path))
    reload()
    assert model_path() == tmp_path
    monkeypatch.delenv("RESTORA_TEXT_MODEL")
    reload()
    assert model_path() != tmp_path and (model_path() / "modules.json").is_file()
