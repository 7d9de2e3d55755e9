"""Mixed synthesis, curriculum, records and captions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from restora import degradations
from restora.degradations import DegradationRecord, caption_for, synthesize
from restora.degradations.captions import NOUNS, SEVERITY_WORDS, captions_for
from restora.degradations.mixed import (
    EXCLUSIVE_PAIRS,
    PHYSICAL_ORDER,
    severity_range,
    type_count_probabilities,
)
from restora.errors import UnknownNameError
from restora.vocabulary import DEGRADATION_TYPES, SYNTHESIS_TYPES


def test_physical_order_covers_every_type() -> None:
    assert sorted(PHYSICAL_ORDER) == sorted(SYNTHESIS_TYPES)


def test_same_seed_same_image_and_record(small_rgb: np.ndarray) -> None:
    a, rec_a = synthesize(small_rgb, seed=11)
    b, rec_b = synthesize(small_rgb, seed=11)
    c, rec_c = synthesize(small_rgb, seed=12)
    np.testing.assert_array_equal(a, b)
    assert rec_a == rec_b and rec_a.to_dict() == rec_b.to_dict()
    assert rec_a.to_dict() != rec_c.to_dict() or not np.array_equal(a, c)


def test_mixed_types_are_ordered_and_compatible(small_rgb: np.ndarray) -> None:
    counts = []
    for seed in range(40):
        out, record = synthesize(
            small_rgb, "mixed", seed=seed, stage="hard", second_order=False, resize_back=True
        )
        types = [d.type for d in record.degradations]
        counts.append(len(types))
        assert types == sorted(types, key=PHYSICAL_ORDER.index)
        assert len(set(types)) == len(types)
        for pair in EXCLUSIVE_PAIRS:
            assert not pair <= set(types)
        assert out.shape == small_rgb.shape and out.dtype == np.float32
        low, high = severity_range("hard")
        assert all(low <= d.severity <= high for d in record.degradations)
    assert set(counts) == {1, 2, 3}


def test_curriculum_easy_is_single_and_mild(small_rgb: np.ndarray) -> None:
    assert type_count_probabilities("easy") == (1.0, 0.0, 0.0)
    assert sum(type_count_probabilities(0.7)) == pytest.approx(1.0)
    for seed in range(15):
        _, record = synthesize(small_rgb, seed=seed, stage="easy", resize_back=True)
        assert len(record.degradations) == 1
        assert record.degradations[0].severity <= severity_range("easy")[1]
    with pytest.raises(UnknownNameError):
        synthesize(small_rgb, seed=0, stage="nightmare")


def test_second_order_adds_a_second_pass(small_rgb: np.ndarray) -> None:
    _, record = synthesize(small_rgb, ["haze"], severity=0.5, seed=3, second_order=True)
    passes = [d.params.get("pass", 1) for d in record.degradations]
    assert passes[0] == 1 and 2 in passes
    assert all(d.severity <= 0.4 for d in record.degradations if d.params.get("pass") == 2)
    _, explicit = synthesize(small_rgb, ["haze"], severity=0.5, seed=3)
    assert [d.type for d in explicit.degradations] == ["haze"]


def test_explicit_types_severities_and_options(small_rgb: np.ndarray) -> None:
    _out, record = synthesize(
        small_rgb,
        ["jpeg", "noise"],
        severity={"noise": 0.5, "jpeg": 0.2},
        seed=0,
        options={"noise": {"kind": "gaussian"}},
    )
    assert [d.type for d in record.degradations] == ["noise", "jpeg"]  # physical order
    assert record.degradations[0].params == {"kind": "gaussian", "sigma": 25.0}
    assert record.degradations[1].params["quality"] == 77
    _, kept = synthesize(small_rgb, ["jpeg", "noise"], severity=0.3, seed=0, keep_order=True)
    assert [d.type for d in kept.degradations] == ["jpeg", "noise"]
    with pytest.raises(UnknownNameError):
        synthesize(small_rgb, ["noise", "sparkle"], seed=0)
    with pytest.raises(ValueError):
        synthesize(small_rgb, ["noise", "noise"], seed=0)


def test_low_resolution_in_a_mix_is_sr_sized_or_resized_back(small_rgb: np.ndarray) -> None:
    lr, _ = synthesize(small_rgb, ["low_resolution", "noise"], severity=0.9, seed=0)
    assert lr.shape == (24, 32, 3)
    back, _ = synthesize(
        small_rgb, ["low_resolution", "noise"], severity=0.9, seed=0, resize_back=True
    )
    assert back.shape == small_rgb.shape


def test_reflection_pool_is_used(small_rgb: np.ndarray) -> None:
    pool = [np.zeros((64, 64, 3), np.float32)]
    _, record = synthesize(small_rgb, "reflection", severity=0.5, seed=0, reflection_pool=pool)
    assert record.degradations[0].params["source"] == "pool[0]"


def test_record_json_shape_and_labels(small_rgb: np.ndarray) -> None:
    _, record = synthesize(small_rgb, ["haze", "noise"], severity=0.6, seed=2)
    payload = json.loads(json.dumps(record.to_dict()))
    assert set(payload) == {"degradations", "caption"}
    assert [set(d) for d in payload["degradations"]] == [{"type", "severity", "params"}] * 2
    assert DegradationRecord.from_dict({**payload, "captions": list(record.captions)}) == record
    presence, severity = record.labels()
    assert presence.dtype == np.float32 and presence.shape == (len(DEGRADATION_TYPES),)
    assert presence[DEGRADATION_TYPES.index("haze")] == 1.0
    assert severity[DEGRADATION_TYPES.index("noise")] == pytest.approx(0.6)
    assert presence.sum() == 2


def test_captions_are_deterministic_varied_and_truthful(small_rgb: np.ndarray) -> None:
    _, record = synthesize(
        small_rgb, ["noise", "jpeg"], severity={"noise": 0.9, "jpeg": 0.1}, seed=5
    )
    assert record.caption == record.captions[0] == caption_for(record)
    assert len(set(record.captions)) == len(record.captions) >= 3
    strong = {w for _, words in SEVERITY_WORDS[-1:] for w in words}
    mild = set(SEVERITY_WORDS[0][1])
    for caption in record.captions:
        assert any(
            noun in caption
            for noun in (
                *NOUNS["noise"],
                "shot noise",
                "colour noise",
                "Gaussian noise",
                "chroma noise",
            )
        )
        assert any(noun in caption for noun in NOUNS["jpeg"])
        assert any(w in caption for w in strong) and any(w in caption for w in mild)
    # the most severe degradation is named first
    first = record.caption.find
    noise_at = min(i for i in (first(n) for n in ("noise", "grain", "speckle")) if i >= 0)
    jpeg_at = min(i for i in (first(n) for n in ("JPEG", "compression", "blockiness")) if i >= 0)
    assert noise_at < jpeg_at


def test_caption_for_accepts_pairs_dicts_and_objects() -> None:
    from restora.types import Degradation

    pairs = [("haze", 0.8), ("rain", 0.2)]
    dicts = [{"type": "haze", "severity": 0.8}, {"type": "rain", "severity": 0.2}]
    objects = [Degradation("haze", 0.8, 0.9), Degradation("rain", 0.2, 0.7)]
    assert caption_for(pairs) == caption_for(dicts) == caption_for(objects)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    assert caption_for(pairs, rng_a) == caption_for(pairs, rng_b)
    assert "clean" in caption_for([]) or "no visible" in caption_for([])
    many = {c for seed in range(30) for c in captions_for(pairs, np.random.default_rng(seed))}
    assert len(many) > 20
    with pytest.raises(ValueError):
        caption_for([("sparkle", 0.5)])


def test_lazy_exports() -> None:
    assert degradations.synthesize is synthesize
    with pytest.raises(AttributeError):
        _ = degradations.does_not_exist  # type: ignore[attr-defined]
