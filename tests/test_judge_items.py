"""The judge's training items: the focus recipe and the analyzer stamp that --refresh keys on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def test_focus_items_cycle_their_types_at_a_drawn_severity(data_dir: Path) -> None:
    from restora.training.judge import FOCUS_BLOCKS, FOCUS_FROM, focus_block, make_item

    if not (data_dir / "train" / "BSDS500").is_dir():
        pytest.skip("train/BSDS500 absent")
    first, types, (low, high), _ = FOCUS_BLOCKS[0]
    assert first == FOCUS_FROM and focus_block(FOCUS_BLOCKS[1][0]) == FOCUS_BLOCKS[1][1:]
    items = [make_item(first + k, data_dir, 2024) for k in range(len(types))]
    assert [i.types for i in items] == [(t,) for t in types]
    for item in items:
        severity = float(item.key.rsplit("_s", 1)[1])
        assert low <= severity <= high
        assert item.kind == "single" and item.degraded.shape == item.clean.shape
        assert float(np.abs(item.degraded - item.clean).mean()) > 0.0
    grey = next(b for b in FOCUS_BLOCKS if b[3])
    scan = make_item(grey[0], data_dir, 2024)
    assert np.array_equal(scan.clean[..., 0], scan.clean[..., 2]) and "grey" in scan.key
    again = make_item(FOCUS_FROM, data_dir, 2024)
    assert again.key == items[0].key and np.array_equal(again.degraded, items[0].degraded)


def test_items_of_another_analyzer_are_stale(tmp_path: Path) -> None:
    from restora.training.judge import analyzer_fingerprint, stale_items

    stamp = analyzer_fingerprint()
    assert len(stamp) == 12 and stamp == analyzer_fingerprint()
    (tmp_path / "items").mkdir()
    (tmp_path / "test_items").mkdir()
    (tmp_path / "items" / "0000_a.json").write_text(json.dumps({"analyzer": stamp}))
    (tmp_path / "items" / "0001_b.json").write_text(json.dumps({"analyzer": "0" * 12}))
    (tmp_path / "test_items" / "0000_c.json").write_text(json.dumps({}))
    assert stale_items(tmp_path) == 2
