"""Train the learned restoration judge (``restora.agent.learned_judge``).

    python -m restora.training.judge --collect 48 --out runs/judge   # rows.json (reused)
    python -m restora.training.judge --fit --out runs/judge          # weights + metrics

**Data.** Mixed-degradation items (1-3 types, hard stage, ``realism=0.5`` so camera-realistic
damage is in; seeded) made from ``train/BSDS500`` images of the CBSD432 list (never CBSD68 or
any test set). The agent runs on each without rollback, with up to three candidates per step;
every candidate output the executor judges (full strength and the 0.5 blend) is one row, plus an
over-strength run (``strength`` x 1.5) of each candidate expert that takes one. A row holds the
:data:`restora.agent.learned_judge.FEATURE_NAMES` vector and the target: the candidate's true
PSNR gain over the step's input against the clean image. Rows are written after every item to
``<out>/rows.json``, so an interrupted or repeated ``--collect`` reuses what is there.

**Model.** An MLP (one hidden ReLU layer) on standardised features, trained full-batch with
Adam on a pairwise logistic ranking loss among candidates of the same step (pairs more than
0.25 dB apart) plus a Huber regression term on the gain (clipped to +-10 dB). ``--fit`` first
reports, from 5-fold cross-validation by item, Spearman correlation, pairwise ranking accuracy and the
dB per step its decisions would give against the default judge and the oracle, then refits on
every row and writes ``judge.safetensors``/``judge.json`` (``--weights``, default
``<out>/weights``; copy to ``src/restora/weights/judge`` to ship).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from restora.agent.judge import Assessment, DefaultJudge, Verdict
from restora.agent.learned_judge import (
    FEATURE_NAMES,
    JudgeModel,
    JudgeModelConfig,
    candidate_features,
    image_statistics,
)
from restora.agent.planning import AgentConfig
from restora.agent.trace import StepRecord

OVER_STRENGTH = 1.5
FOLDS = 5


def training_items(
    data: Path | None, count: int, seed: int = 2024, realism: float = 0.5
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, degraded, clean) items from the CBSD432 training list, seeded."""
    from restora.degradations import synthesize
    from restora.training.data import cached_image, list_training_images
    from restora.vocabulary import DEGRADATION_TYPES

    files = list_training_images(data, sets=("CBSD432",))
    # a permutation's prefix: collecting more items later keeps (and reuses) the first ones
    chosen = np.random.default_rng(seed).permutation(len(files))[:count]
    items = []
    for n, index in enumerate(chosen):
        clean = _rgb(cached_image(files[int(index)]))
        other = _rgb(cached_image(files[int(chosen[(n + 1) % len(chosen)])]))
        degraded, _ = synthesize(
            clean,
            "mixed",
            seed=seed + n,
            stage="hard",
            num_types=(1, 3),
            pool=DEGRADATION_TYPES,
            second_order=False,
            reflection_pool=[other],
            realism=realism,
        )
        items.append((files[int(index)].stem, np.clip(degraded, 0, 1).astype(np.float32), clean))
    return items


def _rgb(pixels: np.ndarray) -> np.ndarray:
    unit = pixels.astype(np.float32) / np.float32(255.0)
    return np.repeat(unit[..., None], 3, axis=2) if unit.ndim == 2 else unit


def _psnr(image: np.ndarray, target: np.ndarray) -> float:
    from restora.quality import psnr

    return float(psnr(np.clip(image, 0, 1), target))


@dataclass(frozen=True)
class RecordingJudge(DefaultJudge):
    """The default judge that also writes a row for every candidate it is asked about."""

    clean: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)
    inputs: dict[int, tuple[Assessment, tuple[float, float, float]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _cached: dict[bytes, Any] = field(default_factory=dict, repr=False, compare=False)

    def analysis(self, image: np.ndarray) -> Any:
        import hashlib

        key = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        if key not in self._cached:
            if len(self._cached) > 64:
                self._cached.clear()
            self._cached[key] = super().analysis(image)
        return self._cached[key]

    def verdict(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
        targets: Any,
        variant: str = "executor",
    ) -> Verdict:
        found = super().verdict(before_image, before, after_image, after, targets)
        if before_image.shape != after_image.shape or not self.clean:
            return found
        step = id(before_image)
        if step not in self.inputs:
            self.inputs[step] = (before, image_statistics(before_image))
        statistics = self.inputs[step][1]
        features = candidate_features(
            before_image, before, after_image, after, targets, found.fidelity, statistics
        )
        clean = self.clean[-1]
        self.rows.append(
            {
                "step": step,
                "variant": variant,
                "targets": list(targets),
                "features": [round(float(v), 6) for v in features],
                "gain": _psnr(after_image, clean) - _psnr(before_image, clean),
                "default_gain": found.score.score - self.score(before, targets).score,
                "default_accepted": found.accepted,
                "quality_drop": before.quality - after.quality,
                "fidelity": found.fidelity,
            }
        )
        return found


def collect_item(
    degraded: np.ndarray, clean: np.ndarray, judge: RecordingJudge, config: AgentConfig
) -> list[dict[str, Any]]:
    """Rows for one item: every judged candidate of every step of the agent without rollback,
    and an over-strength run of each candidate that takes ``strength``."""
    from restora.agent.api import restore
    from restora.experts import get_expert

    judge.clean[:] = [clean]
    judge.rows.clear()
    judge.inputs.clear()
    keep_alive: list[np.ndarray] = []  # ids of step inputs must stay unique within the item

    def observe(record: StepRecord, before: np.ndarray, _: np.ndarray | None) -> None:
        keep_alive.append(before)
        known = judge.inputs.get(id(before))
        if known is None:
            return
        for attempt in record.attempts:
            if attempt.score is None or attempt.blend != 1.0:
                continue
            expert = get_expert(attempt.expert)
            if "strength" not in expert.params:
                continue
            params = dict(attempt.params)
            params["strength"] = float(params.get("strength", 1.0)) * OVER_STRENGTH
            try:
                output = expert(before, **params)
            except Exception:  # a failing variant is just not a row
                continue
            judge.verdict(before, known[0], output, judge.assess(output), record.targets, "strong")

    restore(degraded, judge=judge, config=config, observe=observe)
    rows = list(judge.rows)
    steps = {step: n for n, step in enumerate(dict.fromkeys(r["step"] for r in rows))}
    for row in rows:
        row["step"] = steps[row["step"]]
    return rows


def collect(
    data: Path | None, count: int, out: Path, seed: int = 2024, log: Any = print
) -> dict[str, Any]:
    """Collect rows for ``count`` items into ``out/rows.json`` (items already there are
    reused)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "rows.json"
    store: dict[str, Any] = (
        json.loads(path.read_text()) if path.is_file() else {"seed": seed, "items": {}}
    )
    if store.get("features") not in (None, list(FEATURE_NAMES)):
        raise ValueError(f"{path} was collected with other features; move it away")
    store["features"] = list(FEATURE_NAMES)
    config = AgentConfig(rollback=False, small_side=0, max_candidates=3, time_budget_s=120.0)
    judge = RecordingJudge()
    for n, (name, degraded, clean) in enumerate(training_items(data, count, store["seed"])):
        key = f"{n:03d}_{name}"
        if key in store["items"]:
            continue
        start = time.perf_counter()
        rows = collect_item(degraded, clean, judge, config)
        store["items"][key] = {"rows": rows, "input_psnr": _psnr(degraded, clean)}
        path.write_text(json.dumps(store))
        log(f"{key}: {len(rows)} rows, {time.perf_counter() - start:.1f} s")
    total = sum(len(item["rows"]) for item in store["items"].values())
    log(f"{len(store['items'])} items, {total} rows in {path}")
    return store


# ------------------------------------------------------------------ fitting


@dataclass(frozen=True)
class FitConfig:
    # chosen by 5-fold cross-validation on the first 38 items (small: strong decay, 500 steps)
    hidden: int = 16
    steps: int = 500
    learning_rate: float = 3e-3
    weight_decay: float = 3.0
    regression_weight: float = 1.0
    pair_gap_db: float = 0.25
    gain_clip: float = 10.0
    seed: int = 0


@dataclass
class Table:
    """Rows as arrays: features (N, F), gains (N,), group (step) ids, variants, default-judge
    answers."""

    features: np.ndarray
    gains: np.ndarray
    groups: np.ndarray
    items: np.ndarray
    variants: list[str]
    default_gain: np.ndarray
    default_accepted: np.ndarray
    fidelity: np.ndarray

    def subset(self, mask: np.ndarray) -> Table:
        return Table(
            self.features[mask],
            self.gains[mask],
            self.groups[mask],
            self.items[mask],
            [v for v, m in zip(self.variants, mask, strict=True) if m],
            self.default_gain[mask],
            self.default_accepted[mask],
            self.fidelity[mask],
        )


def table(store: dict[str, Any]) -> Table:
    features, gains, groups, items, variants = [], [], [], [], []
    default_gain, default_accepted, fidelity = [], [], []
    group = 0
    collected = list(store.get("features", FEATURE_NAMES))
    for item_index, key in enumerate(sorted(store["items"])):
        steps: dict[int, int] = {}
        for row in store["items"][key]["rows"]:
            if row["step"] not in steps:
                steps[row["step"]] = group
                group += 1
            named = dict(zip(collected, row["features"], strict=True))
            # rows collected before the feature existed: the recorded default-judge change
            named.setdefault("default_score_change", row["default_gain"] / 10.0)
            features.append([named[name] for name in FEATURE_NAMES])
            gains.append(row["gain"])
            groups.append(steps[row["step"]])
            items.append(item_index)
            variants.append(row["variant"])
            default_gain.append(row["default_gain"])
            default_accepted.append(row["default_accepted"])
            fidelity.append(row["fidelity"])
    return Table(
        np.asarray(features, np.float64).reshape(-1, len(FEATURE_NAMES)),
        np.asarray(gains, np.float64),
        np.asarray(groups, np.int64),
        np.asarray(items, np.int64),
        variants,
        np.asarray(default_gain, np.float64),
        np.asarray(default_accepted, bool),
        np.asarray(fidelity, np.float64),
    )


def _pairs(data: Table, gap: float) -> tuple[np.ndarray, np.ndarray]:
    better, worse = [], []
    for group in np.unique(data.groups):
        members = np.flatnonzero(data.groups == group)
        for i in members:
            for j in members:
                if data.gains[i] - data.gains[j] > gap:
                    better.append(i)
                    worse.append(j)
    return np.asarray(better, np.int64), np.asarray(worse, np.int64)


def fit(data: Table, config: FitConfig | None = None) -> JudgeModel:
    """Train the MLP (module docstring) on ``data``; seeded."""
    import torch

    config = config or FitConfig()
    torch.manual_seed(config.seed)
    mean = data.features.mean(axis=0)
    std = data.features.std(axis=0)
    std = np.where(std < 1e-6, 1.0, std)
    x = torch.tensor((data.features - mean) / std, dtype=torch.float32)
    y = torch.tensor(np.clip(data.gains, -config.gain_clip, config.gain_clip), dtype=torch.float32)
    better, worse = (torch.tensor(a) for a in _pairs(data, config.pair_gap_db))
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], config.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(config.hidden, 1),
    )
    optimiser = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    for _ in range(config.steps):
        optimiser.zero_grad()
        prediction = net(x).squeeze(1)
        loss = config.regression_weight * torch.nn.functional.huber_loss(prediction, y, delta=1.0)
        if len(better):
            margin = prediction[better] - prediction[worse]
            loss = loss + torch.nn.functional.softplus(-margin).mean()
        loss.backward()
        optimiser.step()
    first, last = net[0], net[2]
    assert isinstance(first, torch.nn.Linear) and isinstance(last, torch.nn.Linear)
    tensors = {
        "mean": mean,
        "std": std,
        "w1": first.weight.detach().numpy().astype(np.float64),
        "b1": first.bias.detach().numpy().astype(np.float64),
        "w2": last.weight.detach().numpy()[0].astype(np.float64),
        "b2": last.bias.detach().numpy().astype(np.float64),
    }
    model_config = JudgeModelConfig(FEATURE_NAMES, config.hidden, config.gain_clip)
    return JudgeModel(model_config, tensors)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="stable")
        out = np.empty(len(v))
        out[order] = np.arange(len(v))
        return out

    if len(a) < 2:
        return float("nan")
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def evaluate(
    predicted: np.ndarray, data: Table, margin: float = 0.2, fidelity_floor: float = 0.6
) -> dict[str, float]:
    """Spearman and ranking accuracy of ``predicted`` vs true gain, and the mean true dB per
    step of the decisions (best admitted candidate the executor offers, kept above ``margin``)
    for the learned judge, the default judge (its recorded scores, margin 0.5) and an oracle."""
    better, worse = _pairs(data, 0.25)
    ranking = float(np.mean(predicted[better] > predicted[worse])) if len(better) else float("nan")
    learned, default, oracle, first = [], [], [], []
    for group in np.unique(data.groups):
        members = [
            i for i in np.flatnonzero(data.groups == group) if data.variants[i] == "executor"
        ]
        if not members:
            continue
        oracle.append(max(0.0, *(data.gains[i] for i in members)))
        first.append(data.gains[members[0]])
        admitted = [i for i in members if data.fidelity[i] >= fidelity_floor]
        best = max(admitted, key=lambda i: predicted[i], default=None)
        learned.append(data.gains[best] if best is not None and predicted[best] > margin else 0.0)
        allowed = [i for i in members if data.default_accepted[i]]
        top = max(allowed, key=lambda i: data.default_gain[i], default=None)
        keep = top is not None and data.default_gain[top] > DefaultJudge().improve_margin
        default.append(data.gains[top] if keep and top is not None else 0.0)
    return {
        "rows": len(data.gains),
        "steps": len(oracle),
        "spearman": spearman(predicted, data.gains),
        "pair_accuracy": ranking,
        "pairs": len(better),
        "mae_db": float(np.mean(np.abs(predicted - np.clip(data.gains, -10, 10)))),
        "db_per_step_learned": float(np.mean(learned)) if learned else float("nan"),
        "db_per_step_default": float(np.mean(default)) if default else float("nan"),
        "db_per_step_first_candidate": float(np.mean(first)) if first else float("nan"),
        "db_per_step_oracle": float(np.mean(oracle)) if oracle else float("nan"),
    }


def fit_and_save(
    store: dict[str, Any], weights: Path, config: FitConfig | None = None, log: Any = print
) -> dict[str, Any]:
    config = config or FitConfig()
    data = table(store)
    items = np.unique(data.items)
    folds = np.empty(len(items), np.int64)
    folds[np.random.default_rng(config.seed).permutation(len(items))] = (
        np.arange(len(items)) % FOLDS
    )
    fold_of_row = folds[np.searchsorted(items, data.items)]
    predicted = np.zeros_like(data.gains)
    for fold in range(FOLDS):
        held = fold_of_row == fold
        if held.any() and (~held).any():
            model = fit(data.subset(~held), config)
            predicted[held] = model.predict(data.features[held])
    held_out = evaluate(predicted, data)
    log(f"{FOLDS}-fold held-out ({len(items)} items): {json.dumps(held_out)}")
    start = time.perf_counter()
    final = fit(data, config)
    log(f"fit on every row: {json.dumps(evaluate(final.predict(data.features), data))}")
    extra = {
        "seconds": round(time.perf_counter() - start, 1),
        "fit": config.__dict__,
        "data": {"items": len(items), "rows": len(data.gains), "seed": store["seed"]},
        "held_out": held_out,
    }
    path = final.save(weights, extra)
    write_card(weights, extra)
    log(f"wrote {path} and MODEL_CARD.md")
    return extra


def _machine() -> str:
    import os
    import platform

    import torch

    processor = platform.processor() or platform.machine()
    return f"{processor}, {os.cpu_count()} cores, torch {torch.__version__}, no GPU"


def write_card(weights: Path, extra: dict[str, Any], bench: dict[str, Any] | None = None) -> Path:
    """``MODEL_CARD.md`` beside the weights, from the fit's record (and, when given, the
    output of ``python -m restora.bench.judges --json``)."""
    held, data, fit_config = extra["held_out"], extra["data"], extra["fit"]
    lines = [
        "# restora learned restoration judge",
        "",
        "Written by `python -m restora.training.judge --fit`; do not edit by hand.",
        "",
        "Predicts the true PSNR gain (dB) of a candidate output over the step's input, from "
        f"{len(FEATURE_NAMES)} cheap features (`restora.agent.learned_judge.FEATURE_NAMES`: "
        "analyzer probabilities before/after, NR quality, low-frequency fidelity, task, change "
        "statistics, blind noise sigma and blockiness). `LearnedJudge` scores a candidate as the "
        "state before plus this gain and keeps a step above 0.2 dB.",
        "",
        f"- **Data**: {data['items']} mixed-degradation items (1-3 types, hard stage, realism "
        f"0.5, seed {data['seed']}) from train/BSDS500 (CBSD432 list only); the agent without "
        "rollback, up to 3 candidates per step, full and 0.5 blends plus an over-strength run: "
        f"{data['rows']} rows. `python -m restora.training.judge --collect N --out runs/judge`.",
        f"- **Model**: MLP {len(FEATURE_NAMES)}-{fit_config['hidden']}-1 (ReLU), standardised "
        f"inputs; AdamW lr {fit_config['learning_rate']}, weight decay "
        f"{fit_config['weight_decay']}, {fit_config['steps']} full-batch steps, seed "
        f"{fit_config['seed']}; loss: pairwise logistic ranking among candidates of one step "
        f"(pairs > {fit_config['pair_gap_db']} dB apart) + {fit_config['regression_weight']} x "
        f"Huber on the gain clipped to +-{fit_config['gain_clip']} dB; fit in {extra['seconds']:.0f} s "
        f"on {_machine()}.",
        f"- **Held out** ({FOLDS}-fold cross-validation by item; {held['rows']} rows, "
        f"{held['steps']} steps): Spearman {held['spearman']:.3f}, pairwise ranking accuracy "
        f"{held['pair_accuracy']:.3f} ({held['pairs']} pairs), MAE {held['mae_db']:.2f} dB; dB per "
        f"step of the decisions: learned {held['db_per_step_learned']:+.3f}, default judge "
        f"{held['db_per_step_default']:+.3f}, first candidate always "
        f"{held['db_per_step_first_candidate']:+.3f}, oracle {held['db_per_step_oracle']:+.3f}.",
        "- **Limits**: tied to the shipped analyzer (its probabilities are features): retrain "
        "after changing the analyzer or the expert pool. Small, synthetic training set.",
        "",
    ]
    if bench:
        lines += ["## Test sets (`python -m restora.bench.judges`, PSNR dB)", ""]
        lines += [
            "| set | images | input | default | learned | oracle |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, block in bench.items():
            row = block["judges"]
            lines.append(
                f"| {name} | {row['default']['images']} | {block['input_psnr']:.2f} | "
                + " | ".join(f"{row[j]['psnr']:.2f}" for j in ("default", "learned", "oracle"))
                + " |"
            )
        lines.append("")
    path = weights / "MODEL_CARD.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/judge"))
    parser.add_argument("--collect", type=int, default=0, metavar="N", help="items to collect")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--weights", type=Path, default=None, help="default <out>/weights")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--bench", type=Path, default=None, help="restora.bench.judges --json")
    args = parser.parse_args(argv)
    if args.collect:
        collect(args.data, args.collect, args.out, args.seed)
    if args.fit:
        store = json.loads((args.out / "rows.json").read_text())
        weights = args.weights or args.out / "weights"
        extra = fit_and_save(store, weights, replace(FitConfig()))
        if args.bench is not None:
            write_card(weights, extra, json.loads(args.bench.read_text()))
    if not (args.collect or args.fit):
        parser.error("give --collect N and/or --fit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
