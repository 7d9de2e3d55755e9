"""The training data pipeline: file lists, items, labels, determinism, a DataLoader batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from restora.errors import UnknownNameError
from restora.training.data import DegradationDataset, list_training_images, random_crop
from restora.vocabulary import DEGRADATION_TYPES


@pytest.fixture()
def image_folder(tmp_path: Path, astronaut: np.ndarray, camera: np.ndarray) -> Path:
    folder = tmp_path / "clean"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        crop = astronaut[i * 100 : i * 100 + 160, i * 80 : i * 80 + 200]
        PILImage.fromarray((crop * 255 + 0.5).astype(np.uint8)).save(folder / f"c{i}.png")
    PILImage.fromarray((camera[:150, :150] * 255).astype(np.uint8)).save(folder / "sub" / "g.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_items_shapes_labels_and_captions(image_folder: Path) -> None:
    from restora.degradations.captions import caption_for

    ds = DegradationDataset(image_folder, crop_size=64, stage="hard", length=12, seed=3)
    assert len(ds.files) == 4 and len(ds) == 12
    for index in range(len(ds)):
        item = ds[index]
        assert item["degraded"].shape == item["clean"].shape == (3, 64, 64)
        assert item["degraded"].dtype == torch.float32
        assert float(item["degraded"].min()) >= 0.0 and float(item["degraded"].max()) <= 1.0
        assert item["label"].shape == item["severity"].shape == (len(DEGRADATION_TYPES),)
        assert int(item["label"].sum()) >= 1  # 1-3 types, more with a second-order pass
        # severity is positive exactly where the label says the type is present
        assert torch.equal(item["label"] > 0, item["severity"] > 0)
        assert item["caption"] and item["caption"] != caption_for([])  # described, not "clean"


def test_determinism_by_seed_and_epoch(image_folder: Path) -> None:
    a = DegradationDataset(image_folder, crop_size=48, seed=1, length=4)
    b = DegradationDataset([*sorted(image_folder.rglob("*.png"))], crop_size=48, seed=1, length=4)
    assert a.files == b.files
    assert torch.equal(a[2]["degraded"], b[2]["degraded"]) and a[2]["caption"] == b[2]["caption"]
    first = a[2]["degraded"].clone()
    a.set_epoch(1)
    assert not torch.equal(a[2]["degraded"], first)


def test_curriculum_stage_easy_gives_single_mild_types(image_folder: Path) -> None:
    ds = DegradationDataset(image_folder, crop_size=48, stage="easy", length=10, as_tuple=True)
    for index in range(len(ds)):
        degraded, clean, label, severity, _caption = ds[index]
        assert int(label.sum()) == 1 and float(severity.max()) <= 0.35 + 1e-6
        assert degraded.shape == clean.shape
    ds.set_stage(1.0)  # the hard end of the curriculum: mixed types, severities past the cap
    hard = [ds[index] for index in range(len(ds))]
    assert max(int(label.sum()) for _, _, label, _, _ in hard) > 1
    assert max(float(severity.max()) for _, _, _, severity, _ in hard) > 0.35 + 1e-6


def test_type_pool_and_clean_items(image_folder: Path) -> None:
    ds = DegradationDataset(image_folder, crop_size=48, types=["noise"], length=5)
    for index in range(5):
        label = ds[index]["label"]
        assert label[DEGRADATION_TYPES.index("noise")] == 1 and label.sum() == 1
    clean = DegradationDataset(image_folder, crop_size=48, clean_probability=1.0, length=3)
    item = clean[0]
    assert torch.equal(item["degraded"], item["clean"]) and item["label"].sum() == 0
    with pytest.raises(UnknownNameError):
        DegradationDataset(image_folder, types=["sparkle"])


def test_small_images_are_padded_and_grey_becomes_rgb() -> None:
    rng = np.random.default_rng(0)
    grey = (np.arange(40 * 50) % 255).astype(np.uint8).reshape(40, 50)
    crop = random_crop(grey, 64, rng)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.float32
    assert np.array_equal(crop[..., 0], crop[..., 2])


def test_dataloader_batch(image_folder: Path) -> None:
    ds = DegradationDataset(image_folder, crop_size=32, length=8)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, num_workers=0)))
    assert batch["degraded"].shape == (4, 3, 32, 32)
    assert batch["label"].shape == (4, len(DEGRADATION_TYPES))
    assert len(batch["caption"]) == 4


@pytest.mark.needs_data
def test_training_list_honours_cbsd432(data_dir: Path) -> None:
    files = list_training_images(data_dir)
    assert len(files) == 432 + 400
    assert all(f.is_file() for f in files)
    names = {f.stem for f in files if "BSDS500" in f.parts}
    cbsd68 = {p.stem for p in (data_dir / "test" / "CBSD68").glob("*.png")}
    assert len(names) == 432 and not names & cbsd68
    assert len(list_training_images(data_dir, sets=("Train400",))) == 400
    with pytest.raises(UnknownNameError):
        list_training_images(data_dir, sets=("DIV2K",))
