"""Learned experts: the NAFNet architecture, its training command, the shipped weights."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from restora.experts.archs.nafnet import SIZES, NAFNet, build, pad_to_multiple
from restora.paths import WEIGHTS_DIR

from .helpers import HashedTextEncoder

TINY = SIZES["tiny"]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def test_nafnet_shapes_and_padding() -> None:
    torch.manual_seed(0)
    net = NAFNet(TINY).eval()
    x = torch.rand(2, 3, 37, 50)
    padded, (h, w) = pad_to_multiple(x, TINY.size_multiple)
    assert padded.shape[-2:] == (40, 52) and (h, w) == (37, 50)
    with torch.inference_mode():
        y = net(padded)
    assert y.shape == padded.shape
    assert torch.isfinite(y).all()


def test_conditioned_nafnet_depends_on_the_embedding() -> None:
    torch.manual_seed(0)
    net = NAFNet(dataclasses.replace(TINY, cond_dim=12)).eval()
    for gate in net.gates:  # trained gates are not zero; make them so for the test
        torch.nn.init.normal_(gate.weight, std=0.5)
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        a, b = net(x, torch.randn(1, 12)), net(x, torch.randn(1, 12))
    assert (a - b).abs().max() > 1e-4
    with pytest.raises(ValueError, match="conditioned"):
        net(x)


def test_sizes_are_small_enough_to_ship() -> None:
    for name, config in SIZES.items():
        parameters = sum(p.numel() for p in build(config).parameters())
        assert parameters * 4 < 20e6, name  # float32 safetensors under ~20 MB


def test_nafnet_exports_to_onnx(tmp_path: Path) -> None:
    import onnxruntime as ort

    torch.manual_seed(0)
    net = NAFNet(dataclasses.replace(TINY, cond_dim=6)).eval()
    for gate in net.gates:
        torch.nn.init.normal_(gate.weight, std=0.5)
    cond = torch.randn(1, 6)
    path = tmp_path / "nafnet.onnx"
    torch.onnx.export(
        net,
        (torch.rand(1, 3, 32, 32), cond),
        str(path),
        input_names=["input", "cond"],
        output_names=["output"],
        dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h", 3: "w"}},
        dynamo=False,
    )
    x = torch.rand(1, 3, 48, 64)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy(), "cond": cond.numpy()})
    with torch.inference_mode():
        want = net(x, cond).numpy()
    assert np.abs(got - want).max() < 1e-4


def test_samplers_make_the_promised_damage(rng: np.random.Generator) -> None:
    from restora.training.restorer import TASK_SAMPLERS, TASKS, _grey

    clean = np.asarray(
        np.clip(rng.normal(0.5, 0.2, (64, 64, 3)), 0, 1), np.float32
    )  # textured enough for every degradation to show
    pool = [clean[::-1].copy()]
    for task in TASKS:
        degraded = TASK_SAMPLERS[task](clean, np.random.default_rng(5), pool)
        assert degraded.shape == clean.shape and degraded.dtype == np.float32, task
        assert np.abs(degraded - clean).mean() > 1e-3, task
    grey = _grey(clean)
    noisy = TASK_SAMPLERS["denoise"](grey, np.random.default_rng(1), pool)
    assert np.allclose(noisy[..., 0], noisy[..., 2])  # grey noise is the same in every channel


def _markdown_rows(text: str) -> dict[str, list[str]]:
    """The rows of every table in a markdown text, by their first cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows.setdefault(cells[0], cells[1:])
    return rows


def test_training_smoke_run_resumes_and_exports(
    tmp_path: Path, data_dir: Path, text_encoder: HashedTextEncoder
) -> None:
    from safetensors.torch import load_file

    from restora.training.model_card import write_card
    from restora.training.restorer import (
        TASK_PHRASES,
        evaluate,
        smoke_config,
        split_files,
        train,
        validation_set,
    )

    files, val = split_files(str(data_dir))
    cfg = smoke_config()
    record = train(cfg, tmp_path, files[:6], val[:2], text_encoder=text_encoder)
    assert [h["step"] for h in record["validation"]] == [2, 4]
    # resuming a finished run trains nothing more; a longer config continues from step 4
    again = train(cfg, tmp_path, files[:6], val[:2], text_encoder=text_encoder)
    assert again["validation"] == record["validation"]
    longer = dataclasses.replace(cfg, steps=6)
    record = train(longer, tmp_path, files[:6], val[:2], text_encoder=text_encoder)
    assert [h["step"] for h in record["validation"]] == [2, 4, 6]
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "loss" in entry] == [1, 2, 3, 4, 5, 6]

    # the config saved beside the weights rebuilds the network, the weights load into it
    # strictly, and together they reproduce the validation the run recorded
    weights = tmp_path / "nafnet_allinone.safetensors"
    saved = json.loads(weights.with_suffix(".json").read_text())
    assert saved["arch"] == longer.arch().to_dict() and saved["train"]["steps"] == 6
    tensors = dict(load_file(str(weights)))
    conditions = {
        key.removeprefix("task_embedding."): tensors.pop(key)[None]
        for key in list(tensors)
        if key.startswith("task_embedding.")
    }
    assert sorted(conditions) == sorted(cfg.tasks)
    for task, vector in conditions.items():  # the normalised mean of the task's phrasings
        mean = text_encoder.encode(list(TASK_PHRASES[task])).mean(axis=0)
        np.testing.assert_allclose(vector[0].numpy(), mean / np.linalg.norm(mean), atol=1e-6)
    network = build(saved["arch"])
    network.load_state_dict(tensors, strict=True)
    validation = validation_set(val[:2], cfg.tasks, cfg.val_crops, cfg.val_crop)
    scores = evaluate(network, validation, conditions, torch.device("cpu"))
    recorded = record["validation"][-1]
    for task in cfg.tasks:
        assert scores[task]["input"] == recorded[task]["input"]
        assert scores[task]["output"] == pytest.approx(recorded[task]["output"], abs=1e-3)

    rows = _markdown_rows(write_card(tmp_path).read_text())
    assert rows["nafnet_allinone"][:2] == [
        "denoise, upscale, dejpeg",
        f"{saved['parameters'] / 1e6:.2f} M",
    ]
    for task in cfg.tasks:  # the validation table shows the last validation's numbers
        assert rows[task][:2] == [
            f"{recorded[task]['input']:.2f}",
            f"{recorded[task]['output']:.2f}",
        ]


def test_allinone_embeds_its_phrasings_with_minilm(tmp_path: Path, data_dir: Path) -> None:
    """Without an injected encoder the all-in-one model is conditioned on MiniLM (loaded once
    per process): its task vectors are MiniLM's, as inference expects."""
    from safetensors.torch import load_file

    from restora.language.encoder import embed_text
    from restora.training.restorer import TASK_PHRASES, smoke_config, split_files, train

    files, val = split_files(str(data_dir))
    cfg = dataclasses.replace(smoke_config(), steps=1, val_every=1, tasks=("denoise", "dehaze"))
    train(cfg, tmp_path, files[:2], val[:1])
    tensors = load_file(str(tmp_path / "nafnet_allinone.safetensors"))
    for task in cfg.tasks:
        mean = embed_text(list(TASK_PHRASES[task])).mean(axis=0)
        np.testing.assert_allclose(
            tensors[f"task_embedding.{task}"].numpy(), mean / np.linalg.norm(mean), atol=1e-5
        )


def test_worker_processes_make_the_same_run(tmp_path: Path, data_dir: Path) -> None:
    """Pairs depend on (seed, step) alone: two DataLoader workers train the same weights."""
    from restora.training.restorer import smoke_config, split_files, train

    files, val = split_files(str(data_dir))
    cfg = dataclasses.replace(smoke_config(), task="denoise", tasks=("denoise",), steps=3)
    here = train(cfg, tmp_path / "here", files[:6], val[:2])
    workers = train(dataclasses.replace(cfg, workers=2), tmp_path / "workers", files[:6], val[:2])
    assert here["validation"] == workers["validation"]


def test_time_budget_stops_validates_and_exports(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    from restora.training import restorer
    from restora.training.restorer import learning_rate, smoke_config, split_files, train

    # a clock that moves 0.1 s per reading: the budget (1.2 s) ends after a dozen steps on any
    # machine, however busy (on the real clock a slow first batch could use it all)
    ticks = iter(range(10**9))
    clock = types.SimpleNamespace(perf_counter=lambda: 0.1 * next(ticks))
    monkeypatch.setattr(restorer, "time", clock)
    files, val = split_files(str(data_dir))
    cfg = dataclasses.replace(
        smoke_config(), task="denoise", tasks=("denoise",), steps=10_000, val_every=10_000,
        max_minutes=0.02,
    )  # fmt: skip
    record = train(cfg, tmp_path, files[:6], val[:2])
    done = record["trained"]["steps"]
    assert 0 < done < 10_000
    assert [h["step"] for h in record["validation"]] == [done]  # validated where it stopped
    assert (tmp_path / "nafnet_denoise.safetensors").is_file()
    # the schedule follows the clock: at the budget the rate has decayed to its floor
    assert learning_rate(cfg, 5, minutes=0.02) == pytest.approx(cfg.min_lr)
    assert learning_rate(cfg, 5, minutes=0.01) < learning_rate(cfg, 5, minutes=0.0)


def test_training_learns_to_denoise(tmp_path: Path, data_dir: Path) -> None:
    """A hundred steps of the real loop on the tiny net already beat the noisy input on
    held-out crops (by 3.5-3.9 dB over seeds 0, 1, 3; the test asks for 1)."""
    from restora.training.restorer import TrainConfig, split_files, train

    files, val = split_files(str(data_dir))
    cfg = TrainConfig(
        task="denoise", size="tiny", steps=100, batch=4, crop=32, warmup=5, lr=5e-3,
        val_every=100, log_every=50, val_crops=4, val_crop=48, seed=0, threads=1,
    )  # fmt: skip
    record = train(cfg, tmp_path, files[:8], val[:2])
    score = record["validation"][-1]["denoise"]
    assert score["output"] > score["input"] + 1.0


# ----------------------------------------------------------------------- shipped weights

SHIPPED = WEIGHTS_DIR / "experts"
needs_weights = pytest.mark.skipif(
    not (SHIPPED / "nafnet_denoise.safetensors").is_file(), reason="learned weights not shipped"
)


@needs_weights
def test_shipped_files_are_complete() -> None:
    for weights in SHIPPED.glob("*.safetensors"):
        assert weights.stat().st_size < 21e6, weights.name
        record = json.loads(weights.with_suffix(".json").read_text())
        assert record["trained"]["steps"] > 0 and record["validation"], weights.name
        assert (SHIPPED / f"MODEL_CARD_{weights.stem}.md").is_file() or (
            SHIPPED / "MODEL_CARD.md"
        ).is_file()


@needs_weights
def test_learned_denoiser_beats_the_noisy_input(astronaut: np.ndarray) -> None:
    from restora.experts import get_expert

    clean = astronaut[100:228, 150:310]
    noisy = (clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    for name in ("nafnet_denoise", "allinone_denoise"):
        out = get_expert(name)(noisy)
        assert out.shape == clean.shape and out.min() >= 0 and out.max() <= 1
        assert _psnr(out, clean) > _psnr(noisy, clean) + 6.0, name
    grey = clean.mean(axis=2)
    noisy_grey = grey + np.random.default_rng(1).normal(0, 25 / 255, grey.shape).astype(np.float32)
    out = get_expert("nafnet_denoise")(noisy_grey)
    assert out.ndim == 2 and _psnr(out, grey) > _psnr(noisy_grey, grey) + 6.0


@needs_weights
def test_learned_upscaler_scales_and_beats_bicubic(astronaut: np.ndarray) -> None:
    from restora.degradations.resize import imresize
    from restora.experts import get_expert

    hr = astronaut[64:256, 128:320]
    for scale in (2, 4):
        lr = np.clip(imresize(hr, 1 / scale), 0, 1)
        out = get_expert("nafnet_upscale")(lr, scale=scale)
        assert out.shape == hr.shape
        bicubic = get_expert("bicubic")(lr, scale=scale)
        assert _psnr(out, hr) > _psnr(bicubic, hr), scale


@needs_weights
def test_allinone_follows_a_free_text_instruction(astronaut: np.ndarray) -> None:
    from restora.experts import get_expert

    clean = astronaut[100:196, 150:278]
    noisy = (clean + np.random.default_rng(2).normal(0, 30 / 255, clean.shape)).astype(np.float32)
    expert = get_expert("allinone_denoise")
    by_task = expert(noisy)
    by_words = expert(noisy, instruction="please clean up the grain in this photo")
    assert _psnr(by_words, clean) > _psnr(noisy, clean) + 4.0
    assert np.abs(by_task - by_words).max() > 0  # the sentence, not the task, drove the gates


@needs_weights
def test_learned_expert_exports_to_onnx_and_runs_as_an_onnx_expert(tmp_path: Path) -> None:
    from restora.experts import get_expert
    from restora.experts.learned_models import export_onnx

    path = export_onnx("nafnet_denoise", tmp_path / "denoise.onnx")
    image = np.random.default_rng(0).random((40, 56, 3), dtype=np.float32)
    got = get_expert(f"onnx:{path}")(image)
    want = get_expert("nafnet_denoise")(image)
    assert np.abs(got - want).max() < 2e-3


def test_real_noise_sampler_and_photo_pairs(rng: np.random.Generator) -> None:
    from restora.training.restorer import EXTRA_TASKS, TASK_SAMPLERS, _grey, pair_crop

    clean = np.asarray(np.clip(rng.normal(0.5, 0.2, (64, 64, 3)), 0, 1), np.float32)
    for task in EXTRA_TASKS:
        outputs = [TASK_SAMPLERS[task](clean, np.random.default_rng(s), [clean]) for s in range(8)]
        for out in outputs:
            assert out.shape == clean.shape and out.dtype == np.float32, task
            assert np.abs(out - clean).mean() > 1e-3, task
        # the mixture draws different kinds of noise: camera captures clip, Gaussian does not
        assert any(o.min() < 0 or o.max() > 1 for o in outputs)
        assert any(o.min() >= 0 and o.max() <= 1 for o in outputs)
    grey = TASK_SAMPLERS["denoise_real"](_grey(clean), np.random.default_rng(0), [clean])
    assert np.allclose(grey[..., 0], grey[..., 2])  # grey crops stay grey
    noisy = clean + np.linspace(0, 1, 64, dtype=np.float32)[:, None, None]
    a, b = pair_crop(noisy, clean, 32, np.random.default_rng(3))
    assert a.shape == b.shape == (32, 32, 3)
    # one crop, one orientation for both: the difference is the ramp, turned alike
    difference = a - b
    assert np.allclose(difference, difference[..., :1]) and difference.std() > 0.01
    assert not np.allclose(a, noisy[:32, :32])  # somewhere else, or turned


def test_real_noise_pairs_come_from_the_training_scenes(data_dir: Path) -> None:
    from restora.training.restorer import real_noise_pairs
    from restora.training.splits import CLEAN_DIR, NOISY_DIR, split_by_scene

    names = [
        p.name
        for p in (data_dir / NOISY_DIR).iterdir()
        if (data_dir / CLEAN_DIR / p.name).is_file()
    ]
    train_names, held = split_by_scene(names)
    pairs = real_noise_pairs(data_dir)
    assert len(pairs) == len(train_names) and held
    noisy, truth = pairs[0]
    assert noisy.shape == truth.shape and 0.5 < _psnr(noisy, truth) / 37 < 1.5
    assert real_noise_pairs(data_dir / "no_such_folder") == []
