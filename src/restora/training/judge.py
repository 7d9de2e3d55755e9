"""Train the fidelity judge (``restora.agent.learned_judge``): a model that predicts how many dB
a candidate output gains over the step's input against the unseen clean photo.

    python -m restora.training.judge --collect 680 --out runs/judge [--shard 0/2]
    python -m restora.training.judge --refresh [--test] --out runs/judge [--shard 0/2]
    python -m restora.training.judge --fit --out runs/judge [--install]

**Data** (``--collect``; seeded, one JSON per item under ``<out>/items``, so an interrupted or
repeated run, or several shards, reuse what is there). Each item is a 256 x 256 crop:

- one in five: a real PolyU noisy photo of a **training** scene
  (:func:`restora.training.splits.split_by_scene`; the held-out scenes are never read) with its
  mean-of-500-shots ground truth;
- one in ten: a clean ``train/BSDS500`` crop (CBSD432 list only), one in twenty after a fine
  JPEG (q 85-95, a camera-finished clean photo);
- the rest: the same crops degraded by :func:`restora.degradations.synthesize`, one type or two
  to three, easy to hard, camera-realistic variants half of the time (realism 0.5);
- items from 480 on: one degradation of rain, rain, haze, JPEG in turn at a severity drawn
  uniformly from 0.1-1; from 600 on, light haze (severity 0-0.15); from 640 on, JPEG
  (severity 0.3-1: quality 68-5) on grey photos (:data:`FOCUS_BLOCKS`, :func:`focus_item`).

Each item records the analyzer that analysed its states (:func:`analyzer_fingerprint`);
``--refresh`` re-analyses the items of another analyzer (the judge takes its probabilities as
inputs), and ``--fit`` refuses to train on a mix.

On each item the candidates the agent could try run: the first three experts of the tasks of
the true degradations **and of two wrong tasks** (brightening a normal photo, deblurring a noisy
one, dehazing a flat one), each at full strength, blended at 0.5, and at 0.6 and 1.4 times its
strength when it takes one (FFDNet also 2.0). For mixed items a second step runs on the best
first step's output, and the chain of first candidates is one more row against the received
photo (the end-of-run check). A row is the :data:`restora.agent.change.CHANGE_NAMES` vector of
(input, candidate), the input's analysis probabilities and quality, the candidate's quality, the
task and the true PSNR gain.

**Test items** (``--collect N --test``): the same recipe on photos never trained on (PolyU
held-out scenes, ``test/CBSD68``) into ``<out>/test_items``; ``--fit`` reports the final model
on them (MODEL_CARD.md).

**Model** (``--fit``): :func:`restora.agent.learned_judge.judge_inputs` -> an MLP with two
outputs, the gain in dB (Huber, clipped to +-10 dB, plus a pairwise ranking term among the
candidates of one step) and the probability that the gain exceeds
:data:`restora.agent.learned_judge.HELPS_DB` (logistic). Five-fold cross-validation by item reports
Kendall tau against the true gain, pairwise accuracy, the calibration of the probability and the
dB per step its decisions give; then it refits on every row and writes the weights, the config
and ``MODEL_CARD.md`` (``--install`` copies them to ``src/restora/weights/judge``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from restora.vocabulary import DEGRADATION_TYPES, TASK_FOR_TYPE, TASKS

CROP = 256
CANDIDATES_PER_TASK = 3
WRONG_TASKS = 2
STRENGTHS = (0.6, 1.4)
"""The strengths tried besides the expert's own (the agent's ``AgentConfig.strength_factors``)."""
EXTRA_STRENGTH = {"ffdnet": (2.0,)}
BLEND = 0.5
JUDGED_TASKS = tuple(t for t in TASKS if t != "upscale")
"""An upscale changes the size: the judge holds it to interpolation, not to a PSNR gain."""
SYNTHESIS_TYPES = tuple(t for t in DEGRADATION_TYPES if t != "low_resolution")


def _rgb(pixels: np.ndarray) -> np.ndarray:
    unit = pixels.astype(np.float32) / np.float32(255.0)
    return np.repeat(unit[..., None], 3, axis=2) if unit.ndim == 2 else unit


PSNR_CAP = 60.0
"""PSNR of an output equal to the clean photo (infinite) counts as this, so that a step on a
clean item has a finite (negative) gain."""


def _psnr(image: np.ndarray, target: np.ndarray) -> float:
    from restora.quality import psnr

    return min(PSNR_CAP, float(psnr(np.clip(image, 0, 1), target)))


def _crop(image: np.ndarray, rng: np.random.Generator, side: int = CROP) -> np.ndarray:
    height, width = image.shape[:2]
    top = int(rng.integers(0, max(1, height - side + 1)))
    left = int(rng.integers(0, max(1, width - side + 1)))
    return np.ascontiguousarray(image[top : top + side, left : left + side])


@dataclass(frozen=True)
class Item:
    key: str
    kind: str
    degraded: np.ndarray
    clean: np.ndarray
    types: tuple[str, ...]


def polyu_training_pairs(data: Path | None, held_out: bool = False) -> list[tuple[Path, Path]]:
    """(noisy, clean) PolyU files of the training scenes only (``held_out``: of the held-out
    scenes only, for the test items)."""
    from restora.paths import data_dir
    from restora.training.splits import CLEAN_DIR, NOISY_DIR, split_by_scene

    root = data_dir(data)
    noisy = root / NOISY_DIR
    if not noisy.is_dir():
        return []
    names = [p.name for p in noisy.iterdir() if p.is_file()]
    train, held = split_by_scene(names)
    pairs = []
    for name in held if held_out else train:
        clean = root / CLEAN_DIR / name
        if clean.is_file():
            pairs.append((noisy / name, clean))
    return pairs


TEST_SOURCE = Path("test") / "CBSD68"
"""Clean photos of the test items (``--test``): never trained on."""


def _test_images(data: Path | None) -> list[Path]:
    from restora.paths import data_dir

    folder = data_dir(data) / TEST_SOURCE
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp"))


FOCUS_BLOCKS: tuple[tuple[int, tuple[str, ...], tuple[float, float], bool], ...] = (
    (480, ("rain", "rain", "haze", "jpeg"), (0.1, 1.0), False),
    (600, ("haze",), (0.0, 0.15), False),
    (640, ("jpeg",), (0.3, 1.0), True),
)
"""(first item, types cycled, severity range, grey photos) of the focus recipe
(:func:`focus_item`)."""
FOCUS_FROM = FOCUS_BLOCKS[0][0]


def focus_block(n: int) -> tuple[tuple[str, ...], tuple[float, float], bool]:
    """The types, severity range and greyness of focus item ``n``."""
    block = max((b for b in FOCUS_BLOCKS if b[0] <= n), key=lambda b: b[0])
    return block[1], block[2], block[3]


def focus_item(n: int, data: Path | None, seed: int, test: bool = False) -> Item:
    """Item ``n >= FOCUS_FROM``: one degradation of its :data:`FOCUS_BLOCKS` block's types
    (cycled) at a severity drawn uniformly from the block's range, camera-realistic half of the
    time. The mixed recipe draws severities from its curriculum stages and spreads over nine
    types, so rain dense enough for ``nafnet_derain`` to gain several dB, light haze (a photo at
    13-29 dB: the dark channel prior over-corrects it, the haze network does not) and JPEG at
    quality 5-30 were rare in its items, and the judge predicted losses where the experts gain
    (rain100l, sots_outdoor, live1_q20 in BENCHMARKS.md)."""
    from restora.degradations import synthesize
    from restora.training.data import cached_image, list_training_images

    rng = np.random.default_rng([seed, n])
    files = _test_images(data) if test else list_training_images(data, sets=("CBSD432",))
    source = files[int(rng.integers(len(files)))]
    clean = _crop(_rgb(cached_image(source)), rng)
    types, severities, grey = focus_block(n)
    if grey:  # a grey photo (an old scan, a monochrome camera): luma in all three channels
        luma = clean @ np.asarray([0.299, 0.587, 0.114], np.float32)
        clean = np.ascontiguousarray(np.repeat(luma[..., None], 3, axis=2))
    kind = types[n % len(types)]
    severity = float(rng.uniform(*severities))
    degraded, record = synthesize(clean, kind, severity=severity, rng=rng, realism=0.5)
    return Item(
        f"{n:04d}_{source.stem}_{'grey_' if grey else ''}{kind}_s{severity:.2f}",
        "single",
        np.clip(degraded, 0, 1).astype(np.float32),
        clean,
        record.types,
    )


def make_item(n: int, data: Path | None, seed: int, test: bool = False) -> Item:
    """Item ``n`` of the seeded sequence (module docstring); ``test``: the same recipe on
    held-out photos (PolyU held-out scenes, ``test/CBSD68``) for evaluation only."""
    from restora.degradations import synthesize
    from restora.io import load
    from restora.training.data import cached_image, list_training_images

    if n >= FOCUS_FROM:
        return focus_item(n, data, seed, test)
    rng = np.random.default_rng([seed, n])
    slot = n % 20
    pairs = polyu_training_pairs(data, held_out=test) if slot < 4 else []
    if pairs:
        noisy_file, clean_file = pairs[int(rng.integers(len(pairs)))]
        noisy, clean = load(noisy_file).rgb, load(clean_file).rgb
        state = np.random.default_rng([seed, n, 1])
        top = int(state.integers(0, max(1, noisy.shape[0] - CROP + 1)))
        left = int(state.integers(0, max(1, noisy.shape[1] - CROP + 1)))
        window = np.s_[top : top + CROP, left : left + CROP]
        return Item(
            f"{n:04d}_polyu_{noisy_file.stem}",
            "real_noise",
            np.ascontiguousarray(noisy[window]),
            np.ascontiguousarray(clean[window]),
            ("noise",),
        )
    files = _test_images(data) if test else list_training_images(data, sets=("CBSD432",))
    source = files[int(rng.integers(len(files)))]
    clean = _crop(_rgb(cached_image(source)), rng)
    key = f"{n:04d}_{source.stem}"
    if slot in (4, 5):
        return Item(key + "_clean", "clean", clean, clean, ())
    if slot == 6:
        import cv2

        quality = int(rng.integers(85, 96))
        ok, encoded = cv2.imencode(
            ".jpg", (clean[..., ::-1] * 255).round().astype(np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, quality],
        )  # fmt: skip
        assert ok
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        assert decoded is not None
        finished = _rgb(decoded[..., ::-1])
        return Item(key + f"_q{quality}", "finished", finished, finished, ())
    other = _crop(_rgb(cached_image(files[int(rng.integers(len(files)))])), rng)
    single = slot < 14
    types: Any = SYNTHESIS_TYPES[int(rng.integers(len(SYNTHESIS_TYPES)))] if single else "mixed"
    degraded, record = synthesize(
        clean,
        types,
        rng=rng,
        stage=str(rng.choice(["easy", "medium", "hard"])),
        num_types=None if single else (2, 3),
        pool=SYNTHESIS_TYPES,
        second_order=False,
        reflection_pool=[other],
        realism=0.5,
    )
    found = record.types
    return Item(
        key + "_" + "+".join(found or ("mixed",)),
        "single" if single else "mixed",
        np.clip(degraded, 0, 1).astype(np.float32),
        clean,
        found,
    )


def _tasks(item: Item, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    true = [TASK_FOR_TYPE[t] for t in item.types if TASK_FOR_TYPE.get(t) in JUDGED_TASKS]
    true = list(dict.fromkeys(true))
    others = [t for t in JUDGED_TASKS if t not in true]
    count = WRONG_TASKS + (1 if not true else 0)
    wrong = [str(t) for t in rng.choice(others, size=min(count, len(others)), replace=False)]
    return true, wrong


def _variants(candidate: Any, state: np.ndarray, analysis: Any) -> list[tuple[str, np.ndarray]]:
    from restora.agent.execution import run_expert

    params = candidate.call_params(state, "normal", None, analysis)
    output = run_expert(candidate.expert, state, None, params)
    out = [("full", output), ("blend", state + np.float32(BLEND) * (output - state))]
    if "strength" in candidate.expert.params:
        base = float(params.get("strength", 1.0))
        for factor in (*STRENGTHS, *EXTRA_STRENGTH.get(candidate.name, ())):
            stronger = run_expert(
                candidate.expert, state, None, {**params, "strength": base * factor}
            )
            out.append((f"strength{factor:g}", stronger))
    return out


def collect_item(item: Item, analyzer: Any, seed: int) -> dict[str, Any]:
    """Every row of one item (module docstring)."""
    from restora.agent.candidates import candidates_for
    from restora.agent.change import change_features, noise_levels, view
    from restora.quality.levels import nr_score
    from restora.vocabulary import TYPES_FOR_TASK

    rng = np.random.default_rng([seed, 7, int(item.key[:4])])
    rows: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []

    def state_record(image: np.ndarray) -> dict[str, Any]:
        analysis = analyzer.analysis(image)
        return {
            "analysis": analysis,
            **_analysed(analysis),
            "noise": noise_levels(view(image)),
            "psnr": _psnr(image, item.clean),
        }

    def judge_task(
        state: np.ndarray, record: dict[str, Any], task: str, step: int, true: bool
    ) -> list[tuple[float, np.ndarray, str]]:
        outputs = []
        targets = tuple(t for t in TYPES_FOR_TASK[task] if t in DEGRADATION_TYPES)
        chosen = [
            c for c in candidates_for(task, targets, max_seconds_per_mp=20.0)
            if not c.name.startswith("maxim")
        ][:CANDIDATES_PER_TASK]  # fmt: skip
        for candidate in chosen:
            try:
                variants = _variants(candidate, state, record["analysis"])
            except Exception as exc:  # an expert that cannot run here gives no row
                print(f"  {candidate.name}: {exc}", flush=True)
                continue
            for variant, output in variants:
                output = np.clip(output, 0.0, 1.0).astype(np.float32)
                gain = _psnr(output, item.clean) - record["psnr"]
                rows.append(
                    {
                        "step": step,
                        "task": task,
                        "tasks": [task],
                        "true_task": true,
                        "expert": candidate.name,
                        "variant": variant,
                        "change": [round(float(v), 5) for v in
                                   change_features(state, output, record["noise"])],
                        "quality_after": round(nr_score(output, "quality"), 4),
                        "gain": round(gain, 4),
                    }
                )  # fmt: skip
                outputs.append((gain, output, candidate.name))
        return outputs

    start = time.perf_counter()
    first = state_record(item.degraded)
    steps.append({k: v for k, v in first.items() if k != "analysis"})
    true, wrong = _tasks(item, rng)
    firsts: dict[str, list[tuple[float, np.ndarray, str]]] = {}
    for task in [*true, *wrong]:
        firsts[task] = judge_task(item.degraded, first, task, 0, task in true)
    if len(true) >= 2:
        from restora.agent.planning import TASK_ORDER

        ordered = sorted(true, key=TASK_ORDER.index)
        results = firsts[ordered[0]]
        if results:
            best = max(results, key=lambda r: r[0])[1]
            second = state_record(best)
            steps.append({k: v for k, v in second.items() if k != "analysis"})
            later = judge_task(best, second, ordered[1], 1, True)
            if later and firsts[ordered[0]]:
                # the end-of-run check: received photo -> a chain (first candidates)
                chain = later[0][1]
                rows.append(
                    {
                        "step": 0,
                        "task": ordered[0],
                        "tasks": ordered[:2],
                        "true_task": True,
                        "expert": f"{results[0][2]}+{later[0][2]}",
                        "variant": "chain",
                        "change": [round(float(v), 5) for v in
                                   change_features(item.degraded, chain, first["noise"])],
                        "quality_after": round(nr_score(chain, "quality"), 4),
                        "gain": round(_psnr(chain, item.clean) - first["psnr"], 4),
                    }
                )  # fmt: skip
    return {
        "key": item.key,
        "analyzer": analyzer_fingerprint(),
        "kind": item.kind,
        "types": list(item.types),
        "steps": steps,
        "rows": rows,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _analysed(analysis: Any) -> dict[str, Any]:
    """What a state record keeps of its analysis: the probabilities and the quality score."""
    return {
        "scores": {t: float(analysis.scores.get(t, 0.0)) for t in DEGRADATION_TYPES},
        "quality": float(analysis.quality.score),
    }


def _write_item(path: Path, record: dict[str, Any]) -> None:
    from restora.io import write_bytes_atomic

    write_bytes_atomic(path, json.dumps(record).encode("utf-8"), overwrite=True)


@functools.cache
def analyzer_fingerprint() -> str:
    """The first 12 hex digits of the SHA-256 of the shipped analyzer's weights and config: an
    item's states carry that analyzer's probabilities, which are judge inputs."""
    import hashlib

    from restora.perception.analyzer import DEFAULT_WEIGHTS

    digest = hashlib.sha256()
    for path in (DEFAULT_WEIGHTS, DEFAULT_WEIGHTS.with_suffix(".json")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _best_first_output(item: Item, record: dict[str, Any], analysis: Any) -> np.ndarray:
    """The state of a mixed item's second step: the best variant of the first true task's
    candidates (as :func:`collect_item` chose it), run again."""
    from restora.agent.candidates import candidates_for
    from restora.agent.planning import TASK_ORDER

    first = [r for r in record["rows"] if r["step"] == 0 and r["variant"] != "chain"]
    second = next(r["task"] for r in record["rows"] if r["step"] == 1)
    task = min(
        {r["task"] for r in first if r["true_task"] and r["task"] != second},
        key=TASK_ORDER.index,
    )
    best = max((r for r in first if r["task"] == task), key=lambda r: r["gain"])
    candidate = next(c for c in candidates_for(best["task"]) if c.name == best["expert"])
    variants = dict(_variants(candidate, item.degraded, analysis))
    return np.clip(variants[best["variant"]], 0.0, 1.0).astype(np.float32)


def stale_items(out: Path) -> int:
    """Items (training and test) whose states another analyzer analysed."""
    stamp = analyzer_fingerprint()
    paths = [*(out / "items").glob("*.json"), *(out / "test_items").glob("*.json")]
    return sum(json.loads(p.read_text()).get("analyzer") != stamp for p in paths)


def refresh(
    data: Path | None, out: Path, seed: int, shard: tuple[int, int] = (0, 1), test: bool = False
) -> None:
    """Re-analyse the states of the items collected with another analyzer (the item is made
    again from its number; a mixed item's second state by running its best first candidate
    again): their rows stay, their probabilities become the shipped analyzer's."""
    import torch

    from restora.perception import get_analyzer

    torch.set_num_threads(1)
    analyzer = get_analyzer()
    stamp = analyzer_fingerprint()
    index, step = shard
    for path in sorted((out / ("test_items" if test else "items")).glob("*.json")):
        record = json.loads(path.read_text())
        n = int(record["key"][:4])
        if n % step != index or record.get("analyzer") == stamp:
            continue
        item = make_item(n, data, seed, test)
        if item.key != record["key"]:
            raise SystemExit(f"{path}: item {n} is now {item.key}; collect again")
        analyses = [analyzer.analysis(item.degraded)]
        if len(record["steps"]) > 1:
            analyses.append(analyzer.analysis(_best_first_output(item, record, analyses[0])))
        for state, analysis in zip(record["steps"], analyses, strict=False):
            state.update(_analysed(analysis))
        record["analyzer"] = stamp
        _write_item(path, record)
        print(f"{record['key']}: refreshed", flush=True)


def collect(
    data: Path | None,
    count: int,
    out: Path,
    seed: int = 2024,
    shard: tuple[int, int] = (0, 1),
    test: bool = False,
) -> None:
    """Items ``shard[0]``, ``shard[0] + shard[1]``, ... below ``count`` into ``out/items``
    (``test``: held-out items into ``out/test_items``)."""
    import torch

    from restora.agent.change import CHANGE_NAMES
    from restora.perception import get_analyzer

    torch.set_num_threads(1)
    folder = out / ("test_items" if test else "items")
    folder.mkdir(parents=True, exist_ok=True)
    meta = out / "collect.json"
    if not meta.is_file():
        meta.write_text(json.dumps({"seed": seed, "change": list(CHANGE_NAMES)}, indent=2))
    recorded = json.loads(meta.read_text())
    if recorded["change"] != list(CHANGE_NAMES) or recorded["seed"] != seed:
        raise SystemExit(f"{meta}: collected with other features or seed; use another --out")
    analyzer = get_analyzer()
    index, step = shard
    for n in range(index, count, step):
        if list(folder.glob(f"{n:04d}_*.json")):
            continue
        item = make_item(n, data, seed, test)
        result = collect_item(item, analyzer, seed)
        path = folder / f"{item.key}.json"
        _write_item(path, result)
        print(f"{item.key}: {len(result['rows'])} rows, {result['seconds']} s", flush=True)


# ------------------------------------------------------------------ fitting


@dataclass(frozen=True)
class FitConfig:
    # chosen by 5-fold CV on the first ~140 items: longer training or less decay overfit (the
    # out-of-fold "helps" logits needed Platt slopes of 0.14-0.46), a GBM did no better
    hidden: int = 64
    steps: int = 300
    learning_rate: float = 1e-3
    weight_decay: float = 0.1
    ranking_weight: float = 1.0
    helps_weight: float = 1.0
    pair_gap_db: float = 0.25
    gain_clip: float = 10.0
    seed: int = 0
    members: int = 5
    false_alarm_share: float = 0.5
    """Share of wrong-task rows copied with a raised detection (:func:`false_alarms`)."""
    """An ensemble of this many MLPs (seeds ``seed`` ...): steadier ranks and probabilities."""


@dataclass
class Table:
    """Rows as arrays: model inputs (N, F), true gains, step groups, items, variants."""

    inputs: np.ndarray
    gains: np.ndarray
    groups: np.ndarray
    items: np.ndarray
    kinds: list[str]
    variants: list[str]
    true_task: np.ndarray

    def subset(self, mask: np.ndarray) -> Table:
        pick = np.flatnonzero(mask)
        return Table(
            self.inputs[pick],
            self.gains[pick],
            self.groups[pick],
            self.items[pick],
            [self.kinds[i] for i in pick],
            [self.variants[i] for i in pick],
            self.true_task[pick],
        )


def load_table(out: Path, folder: str = "items") -> Table:
    from restora.agent.learned_judge import judge_inputs

    inputs, gains, groups, items, kinds, variants, true_task = [], [], [], [], [], [], []
    group_ids: dict[tuple[int, int, str], int] = {}
    for item_index, path in enumerate(sorted((out / folder).glob("*.json"))):
        record = json.loads(path.read_text())
        for row in record["rows"]:
            state = record["steps"][row["step"]]
            key = (item_index, row["step"], row["task"] if row["variant"] != "chain" else "chain")
            groups.append(group_ids.setdefault(key, len(group_ids)))
            inputs.append(
                judge_inputs(
                    np.asarray(row["change"], np.float32),
                    state["scores"],
                    state["quality"],
                    row["quality_after"],
                    row["tasks"],
                )
            )
            gains.append(row["gain"])
            items.append(item_index)
            kinds.append(record["kind"])
            variants.append(row["variant"])
            true_task.append(bool(row["true_task"]))
    return Table(
        np.asarray(inputs, np.float64),
        np.asarray(gains, np.float64),
        np.asarray(groups, np.int64),
        np.asarray(items, np.int64),
        kinds,
        variants,
        np.asarray(true_task, bool),
    )


def _pairs(data: Table, gap: float) -> tuple[np.ndarray, np.ndarray]:
    better, worse = [], []
    order = np.argsort(data.groups, kind="stable")
    bounds = np.flatnonzero(np.diff(data.groups[order])) + 1
    for members in np.split(order, bounds):
        gains = data.gains[members]
        difference = gains[:, None] - gains[None, :]
        i, j = np.nonzero(difference > gap)
        better.append(members[i])
        worse.append(members[j])
    if not better:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(better), np.concatenate(worse)


def false_alarms(data: Table, share: float, seed: int) -> Table:
    """``data`` plus copies of ``share`` of its wrong-task rows (a step for a damage the item
    does not have) in which the analyzer's probability of that damage is raised to U(0.5, 1):
    the analyzer's false alarms on real photos (haze on a flat grey wall, motion blur on camera
    noise) are rare in synthetic training items, and without these rows the judge learns that
    a confident detection makes the step help whatever the step did."""
    from restora.agent.learned_judge import INPUT_NAMES
    from restora.vocabulary import TYPES_FOR_TASK

    rng = np.random.default_rng(seed)
    wrong = np.flatnonzero(~data.true_task)
    chosen = wrong[rng.random(len(wrong)) < share]
    if not len(chosen):
        return data
    inputs = data.inputs[chosen].copy()
    for task, types in TYPES_FOR_TASK.items():
        rows = inputs[:, INPUT_NAMES.index(f"task_{task}")] > 0.5
        for kind in types:
            column = INPUT_NAMES.index(f"p_{kind}")
            inputs[rows, column] = rng.uniform(0.5, 1.0, int(rows.sum()))
    offset = int(data.groups.max()) + 1  # the copies form steps of their own
    return Table(
        np.concatenate([data.inputs, inputs]),
        np.concatenate([data.gains, data.gains[chosen]]),
        np.concatenate([data.groups, data.groups[chosen] + offset]),
        np.concatenate([data.items, data.items[chosen]]),
        data.kinds + [data.kinds[i] for i in chosen],
        data.variants + [data.variants[i] for i in chosen],
        np.concatenate([data.true_task, data.true_task[chosen]]),
    )


def fit(data: Table, config: FitConfig | None = None) -> Any:
    """Train ``config.members`` two-output MLPs (seeds ``seed``, ``seed + 1``, ...) on
    ``data`` (with :func:`false_alarms` rows) and join them into one model that outputs their
    mean (:func:`ensemble`)."""
    config = config or FitConfig()
    if config.false_alarm_share > 0:
        data = false_alarms(data, config.false_alarm_share, config.seed)
    members = [fit_one(data, replace(config, seed=config.seed + n)) for n in range(config.members)]
    return members[0] if len(members) == 1 else ensemble(members)


def ensemble(models: list[Any]) -> Any:
    """One MLP whose outputs are the mean of ``models``' (same inputs, standardisation and
    depth): hidden layers side by side, block-diagonal in between, the last layer averaged."""
    from scipy.linalg import block_diag

    from restora.agent.learned_judge import JudgeModel

    first = models[0]
    layers = sum(1 for k in first.tensors if k.startswith("w"))
    tensors = {"mean": first.tensors["mean"], "std": first.tensors["std"]}
    for n in range(1, layers + 1):
        weights = [m.tensors[f"w{n}"] for m in models]
        biases = [m.tensors[f"b{n}"] for m in models]
        if n == 1:
            tensors["w1"], tensors["b1"] = np.concatenate(weights), np.concatenate(biases)
        elif n < layers:
            tensors[f"w{n}"], tensors[f"b{n}"] = block_diag(*weights), np.concatenate(biases)
        else:
            tensors[f"w{n}"] = np.concatenate(weights, axis=1) / len(models)
            tensors[f"b{n}"] = np.mean(biases, axis=0)
    hidden = first.config.hidden * len(models)
    return JudgeModel(replace(first.config, hidden=hidden), tensors)


def fit_one(data: Table, config: FitConfig) -> Any:
    """Train one two-output MLP (module docstring) on ``data``; seeded."""
    import torch

    from restora.agent.learned_judge import HELPS_DB, JudgeModel, JudgeModelConfig

    torch.manual_seed(config.seed)
    mean = data.inputs.mean(axis=0)
    std = data.inputs.std(axis=0)
    std = np.where(std < 1e-6, 1.0, std)
    x = torch.tensor((data.inputs - mean) / std, dtype=torch.float32)
    gains = np.clip(data.gains, -config.gain_clip, config.gain_clip)
    y = torch.tensor(gains, dtype=torch.float32)
    helps = torch.tensor((data.gains > HELPS_DB).astype(np.float32))
    better, worse = (torch.tensor(a) for a in _pairs(data, config.pair_gap_db))
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], config.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(config.hidden, config.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(config.hidden, 2),
    )
    optimiser = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.steps):
        optimiser.zero_grad()
        out = net(x)
        gain, logit = out[:, 0], out[:, 1]
        loss = torch.nn.functional.huber_loss(gain, y, delta=1.0)
        loss = loss + config.helps_weight * torch.nn.functional.binary_cross_entropy_with_logits(
            logit, helps
        )
        if len(better):
            pick = torch.randint(len(better), (min(len(better), 20000),), generator=generator)
            margin = gain[better[pick]] - gain[worse[pick]]
            loss = loss + config.ranking_weight * torch.nn.functional.softplus(-margin).mean()
        loss.backward()
        optimiser.step()
        schedule.step()
    layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    tensors = {"mean": mean, "std": std}
    for n, layer in enumerate(layers, start=1):
        tensors[f"w{n}"] = layer.weight.detach().numpy().astype(np.float64)
        tensors[f"b{n}"] = layer.bias.detach().numpy().astype(np.float64)
    return JudgeModel(JudgeModelConfig(hidden=config.hidden, gain_clip=config.gain_clip), tensors)


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic) if len(a) > 1 else float("nan")


def evaluate(gain: np.ndarray, helps: np.ndarray, data: Table, confidence: float) -> dict[str, Any]:
    """Ranking and decision figures of predictions on ``data`` (module docstring): Kendall tau
    over all rows and within steps, pairwise accuracy, the probability's calibration, and the
    true dB per step of three rules: keep the best predicted candidate when the model is
    ``confidence`` sure it helps (automatic), the best predicted always (asked), the oracle."""
    from restora.agent.learned_judge import HELPS_DB, INPUT_NAMES, required_gain

    change = data.inputs[:, INPUT_NAMES.index("log_rms_change")]
    need = np.array([required_gain(float(v)) for v in change])
    better, worse = _pairs(data, 0.25)
    within = []
    automatic, asked, oracle, first, harmful = [], [], [], [], 0
    oracle_asked = []
    for group in np.unique(data.groups):
        members = np.flatnonzero(data.groups == group)
        if len(members) > 2 and np.ptp(data.gains[members]) > 0:
            within.append(kendall_tau(gain[members], data.gains[members]))
        top = members[int(np.argmax(gain[members]))]
        keep = helps[top] >= confidence and gain[top] > need[top]  # the agent's rule
        automatic.append(data.gains[top] if keep else 0.0)
        harmful += int(keep and data.gains[top] < 0)
        oracle.append(max(0.0, float(data.gains[members].max())))
        if data.true_task[members].all():  # asking for a step whose damage is there
            asked.append(data.gains[top])
            first.append(data.gains[members[0]])
            oracle_asked.append(float(data.gains[members].max()))
    truth = data.gains > HELPS_DB
    bins = []
    for low, high in ((0.0, 0.2), (0.2, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 1.01)):
        mask = (helps >= low) & (helps < high)
        if mask.any():
            bins.append([low, round(float(truth[mask].mean()), 3), int(mask.sum())])
    return {
        "rows": len(gain),
        "steps": len(oracle),
        "kendall_tau": round(kendall_tau(gain, data.gains), 4),
        "kendall_tau_within_step": round(float(np.nanmean(within)), 4) if within else None,
        "pair_accuracy": round(float(np.mean(gain[better] > gain[worse])), 4)
        if len(better) else None,
        "mae_db": round(float(np.mean(np.abs(gain - np.clip(data.gains, -10, 10)))), 3),
        "helps_calibration": bins,
        "db_per_step_automatic": round(float(np.mean(automatic)), 3),
        "harmful_kept_steps": harmful,
        "db_per_step_asked": round(float(np.mean(asked)), 3) if asked else None,
        "db_per_step_first_candidate": round(float(np.mean(first)), 3) if first else None,
        "db_per_step_oracle": round(float(np.mean(oracle)), 3),
        "db_per_step_oracle_asked": round(float(np.mean(oracle_asked)), 3)
        if oracle_asked else None,
    }  # fmt: skip


FOLDS = 5


def asked_gain_with_margin(
    gain: np.ndarray, data: Table, margin: float, kinds: tuple[str, ...] = ()
) -> float:
    """True dB per step of the asked-step rule with a switch margin (``LearnedJudge.
    switch_margin``): the best predicted candidate, unless it is predicted no more than
    ``margin`` dB better than the step's first row (its first-ranked expert at full strength),
    which is kept instead; over the steps whose damage is there (of ``kinds``, all if empty)."""
    out = []
    for group in np.unique(data.groups):
        members = np.flatnonzero(data.groups == group)
        if not data.true_task[members].all() or (kinds and data.kinds[members[0]] not in kinds):
            continue
        first, top = members[0], members[int(np.argmax(gain[members]))]
        out.append(data.gains[top if gain[top] - gain[first] > margin else first])
    return float(np.mean(out)) if out else float("nan")


MARGINS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, float("inf"))


def margin_report(out: Path, config: FitConfig) -> str:
    """Out-of-fold asked-step gains per switch margin and kind of item (``--margins``)."""
    data = load_table(out)
    gain, _ = cross_validate(data, config)
    kinds = sorted({k for k, t in zip(data.kinds, data.true_task, strict=True) if t})
    lines = ["| margin (dB) | all | " + " | ".join(kinds) + " |",
             "|---:|---:|" + "---:|" * len(kinds)]  # fmt: skip
    for margin in MARGINS:
        cells = [asked_gain_with_margin(gain, data, margin, (k,)) for k in kinds]
        lines.append(
            f"| {'first always' if margin == float('inf') else f'{margin:g}'} | "
            f"{asked_gain_with_margin(gain, data, margin):+.3f} | "
            + " | ".join(f"{c:+.3f}" for c in cells) + " |"
        )  # fmt: skip
    return "\n".join(lines)


def cross_validate(data: Table, config: FitConfig) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (gain, uncalibrated logit) predictions, folds by item."""
    items = np.unique(data.items)
    folds = np.empty(len(items), np.int64)
    folds[np.random.default_rng(config.seed).permutation(len(items))] = (
        np.arange(len(items)) % FOLDS
    )
    fold_of_row = folds[np.searchsorted(items, data.items)]
    gain = np.zeros_like(data.gains)
    helps = np.zeros_like(data.gains)
    for fold in range(FOLDS):
        held = fold_of_row == fold
        if held.any() and (~held).any():
            model = fit(data.subset(~held), config)
            gain[held], helps[held] = model.raw(data.inputs[held])
    return gain, helps


def platt(logits: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(a, b) of ``sigmoid(a * logit + b)`` fitted to ``truth`` by maximum likelihood."""
    from scipy.optimize import minimize

    y = truth.astype(np.float64)

    def loss(ab: np.ndarray) -> float:
        z = ab[0] * logits + ab[1]
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    found = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead")
    return float(found.x[0]), float(found.x[1])


MAX_HARMFUL_SHARE = 0.025
"""The chosen confidence keeps at most this share of automatic steps that lose dB
(out-of-fold), with the most dB per step among such thresholds."""


def choose_confidence(gain: np.ndarray, helps: np.ndarray, data: Table) -> float:
    """The smallest probability threshold (0.5-0.99) whose out-of-fold automatic decisions keep
    at most :data:`MAX_HARMFUL_SHARE` harmful steps; the most dB per step among those."""
    best: tuple[float, float] | None = None
    for threshold in np.round(np.arange(0.5, 0.991, 0.01), 2):
        figures = evaluate(gain, helps, data, float(threshold))
        if figures["harmful_kept_steps"] <= MAX_HARMFUL_SHARE * figures["steps"]:
            score = figures["db_per_step_automatic"]
            if best is None or score > best[1] + 1e-9:
                best = (float(threshold), score)
    return best[0] if best is not None else 0.99


def fit_and_save(out: Path, weights: Path, config: FitConfig, log: Any = print) -> dict[str, Any]:
    from restora.agent.learned_judge import HELPS_DB

    stale = stale_items(out)
    if stale:
        raise SystemExit(
            f"{stale} items carry another analyzer's probabilities: run --refresh (and "
            "--refresh --test) first"
        )
    data = load_table(out)
    log(f"{len(np.unique(data.items))} items, {len(data.gains)} rows")
    gain, logit = cross_validate(data, config)
    calibration = platt(logit, data.gains > HELPS_DB)
    helps = 1.0 / (1.0 + np.exp(-np.clip(calibration[0] * logit + calibration[1], -30, 30)))
    confidence = choose_confidence(gain, helps, data)
    log(f"calibration {calibration}, confidence {confidence}")
    held_out = evaluate(gain, helps, data, confidence)
    by_kind = {}
    for kind in sorted(set(data.kinds)):
        mask = np.array([k == kind for k in data.kinds])
        by_kind[kind] = evaluate(gain[mask], helps[mask], data.subset(mask), confidence)
    log(f"{FOLDS}-fold held out: {json.dumps(held_out)}")
    for kind, figures in by_kind.items():
        log(f"  {kind}: {json.dumps(figures)}")
    start = time.perf_counter()
    final = fit(data, config)
    final = replace(
        final, config=replace(final.config, calibration=calibration, confidence=confidence)
    )
    seconds = time.perf_counter() - start
    test: dict[str, Any] = {}
    if list((out / "test_items").glob("*.json")):
        rows = load_table(out, "test_items")
        gain, helps = final.predict_both(rows.inputs)
        test["all"] = evaluate(gain, helps, rows, confidence)
        for kind in sorted(set(rows.kinds)):
            mask = np.array([k == kind for k in rows.kinds])
            test[kind] = evaluate(gain[mask], helps[mask], rows.subset(mask), confidence)
        test["items"] = len(np.unique(rows.items))
        log(f"test items (held-out photos): {json.dumps(test['all'])}")
    meta = json.loads((out / "collect.json").read_text())
    extra = {
        "calibration": list(calibration),  # also in the model's config: the same values
        "confidence": confidence,
        "fit": asdict(config),
        "fit_seconds": round(seconds, 1),
        "data": {
            "items": len(np.unique(data.items)),
            "rows": len(data.gains),
            "seed": meta["seed"],
            "kinds": {k: data.kinds.count(k) for k in sorted(set(data.kinds))},
        },
        "held_out": held_out,
        "held_out_by_kind": by_kind,
        "test": test,
        "machine": _machine(),
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


def write_card(weights: Path, extra: dict[str, Any]) -> Path:
    """``MODEL_CARD.md`` beside the weights, from the fit's record."""
    from restora.agent.learned_judge import HELPS_DB, INPUT_NAMES

    confidence = extra["confidence"]

    held, data, fit_config = extra["held_out"], extra["data"], extra["fit"]
    lines = [
        "# restora fidelity judge",
        "",
        "Written by `python -m restora.training.judge --fit`; do not edit by hand.",
        "",
        "Predicts, for a candidate output of a restoration step, the true PSNR gain (dB) over "
        "the step's input and the probability that it gains more than "
        f"{HELPS_DB} dB, from {len(INPUT_NAMES)} inputs "
        "(`restora.agent.learned_judge.INPUT_NAMES`: what the step changed, "
        "`restora.agent.change`, the analyzer's probabilities and the quality score of the "
        "input, the quality of the output, the task). The agent keeps an automatic step only "
        f"when that probability (Platt-scaled on out-of-fold logits: a = "
        f"{extra['calibration'][0]:.3f}, b = {extra['calibration'][1]:.3f}) is at least "
        f"{confidence}, the smallest threshold whose out-of-fold automatic decisions keep at "
        f"most {MAX_HARMFUL_SHARE:.1%} harmful steps.",
        "",
        f"- **Data** (`python -m restora.training.judge --collect N`): {data['items']} items of "
        f"256 x 256 ({json.dumps(data['kinds'])}; seed {data['seed']}): PolyU real noisy crops "
        "of the training scenes (held-out scenes never read), clean and JPEG-finished "
        "train/BSDS500 crops (CBSD432 list), synthetic single and mixed degradations (realism "
        "0.5), and from item "
        + "; from ".join(
            f"{b[0]} single {', '.join(dict.fromkeys(b[1]))} at severities {b[2][0]:g}-{b[2][1]:g}"
            + (" on grey photos" if b[3] else "")
            for b in FOCUS_BLOCKS
        )
        + "; states analysed by the "
        f"analyzer `{analyzer_fingerprint()}` (SHA-256 prefix of its weights and config); "
        "candidates of the true tasks and of two wrong tasks, full, blended 0.5 and at "
        f"other strengths: {data['rows']} rows.",
        f"- **Model**: the mean of {fit_config['members']} MLPs {len(INPUT_NAMES)}-"
        f"{fit_config['hidden']}-{fit_config['hidden']}-2 (seeds {fit_config['seed']}...; stored "
        "as one block-diagonal MLP) "
        f"(ReLU), standardised inputs; AdamW lr {fit_config['learning_rate']}, weight decay "
        f"{fit_config['weight_decay']}, {fit_config['steps']} full-batch steps (cosine), seed "
        f"{fit_config['seed']}; loss: Huber on the gain clipped to +-{fit_config['gain_clip']} dB "
        f"+ {fit_config['helps_weight']} x logistic on gain > {HELPS_DB} dB + "
        f"{fit_config['ranking_weight']} x pairwise ranking within a step (pairs > "
        f"{fit_config['pair_gap_db']} dB apart); fitted in {extra['fit_seconds']:.0f} s on "
        f"{extra['machine']}.",
        f"- **Held out** ({FOLDS}-fold cross-validation by item; {held['rows']} rows, "
        f"{held['steps']} steps): Kendall tau {held['kendall_tau']} (within a step "
        f"{held['kendall_tau_within_step']}), pairwise accuracy {held['pair_accuracy']}, MAE "
        f"{held['mae_db']} dB. Decisions, true dB per step: automatic (keep the best when "
        f"p >= {confidence}) {held['db_per_step_automatic']:+.3f} with "
        f"{held['harmful_kept_steps']} harmful steps kept of {held['steps']}; asked (best "
        f"always, steps of a damage that is there) {held['db_per_step_asked']:+.3f}; first "
        f"candidate {held['db_per_step_first_candidate']:+.3f} (oracle on those steps "
        f"{held['db_per_step_oracle_asked']:+.3f}); oracle over every step (a rollback "
        f"counts 0) {held['db_per_step_oracle']:+.3f}.",
        f"- **Calibration** of p (bin low edge, share that helped, rows): "
        f"{held['helps_calibration']}.",
        "",
        "| items | rows | Kendall tau | tau within step | automatic dB/step | harmful kept | "
        "oracle dB/step (every step) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, figures in extra["held_out_by_kind"].items():
        lines.append(
            f"| {kind} | {figures['rows']} | {figures['kendall_tau']} | "
            f"{figures['kendall_tau_within_step']} | {figures['db_per_step_automatic']:+.3f} | "
            f"{figures['harmful_kept_steps']} | {figures['db_per_step_oracle']:+.3f} |"
        )
    test = extra.get("test") or {}
    if test:
        lines += [
            "",
            f"**Held-out photos** ({test['items']} items collected the same way with "
            "`--test` from photos never trained on: PolyU held-out scenes and `test/CBSD68`; "
            "the final model):",
            "",
            "| items | rows | Kendall tau | tau within step | automatic dB/step | harmful kept | "
            "asked dB/step | oracle dB/step (every step) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, figures in test.items():
            if kind == "items":
                continue
            asked = figures["db_per_step_asked"]
            lines.append(
                f"| {kind} | {figures['rows']} | {figures['kendall_tau']} | "
                f"{figures['kendall_tau_within_step']} | {figures['db_per_step_automatic']:+.3f} | "
                f"{figures['harmful_kept_steps']} | "
                f"{'-' if asked is None else format(asked, '+.3f')} | "
                f"{figures['db_per_step_oracle']:+.3f} |"
            )
    lines += [
        "",
        "- **Limits**: tied to the shipped analyzer (its probabilities are inputs) and to the "
        "expert pool it was collected with: retrain after changing either. 256 px crops; "
        "the agent decides on crops of at most 384 px. Upscaling is not judged by it.",
        "",
    ]
    path = weights / "MODEL_CARD.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/judge"))
    parser.add_argument("--collect", type=int, default=0, metavar="N", help="items to collect")
    parser.add_argument("--shard", default="0/1", help="I/N: collect items I, I+N, ...")
    parser.add_argument(
        "--refresh", action="store_true",
        help="re-analyse the items collected with another analyzer (with --test: the test items)",
    )  # fmt: skip
    parser.add_argument("--fit", action="store_true")
    parser.add_argument(
        "--margins", action="store_true",
        help="out-of-fold asked-step gains per switch margin (LearnedJudge.switch_margin)",
    )  # fmt: skip
    parser.add_argument("--weights", type=Path, default=None, help="default <out>/weights")
    parser.add_argument("--install", action="store_true", help="write the shipped weights")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--test", action="store_true",
        help="collect held-out items (PolyU held-out scenes, test/CBSD68) for evaluation",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not (args.collect or args.refresh or args.fit or args.margins):
        parser.error("give --collect N, --refresh, --fit and/or --margins")
    index, count = (int(v) for v in args.shard.split("/"))
    if args.collect:
        collect(args.data, args.collect, args.out, args.seed, (index, count), args.test)
    if args.refresh:
        refresh(args.data, args.out, args.seed, (index, count), args.test)
    if args.fit:
        from restora.agent.learned_judge import JUDGE_DIR

        weights = JUDGE_DIR if args.install else (args.weights or args.out / "weights")
        fit_and_save(args.out, weights, FitConfig())
    if args.margins:
        print(margin_report(args.out, FitConfig()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
