"""Evaluate the agent: ``restora bench --task agent [--quick]`` or ``python -m restora.bench.agent``.

On the deterministic mixed-degradation benchmark (``mixed_cbsd68``: CBSD68 with 2-3 hard
degradations each) and on single-degradation sets, five ways to restore the same inputs with the
same analyzer and the same expert pool (the agent's default budget: experts faster than
``AgentConfig.max_seconds_per_mp``):

- ``seed``: the seed routing system: classify once, run the first expert for the top class;
- ``fixed``: every task the analyzer finds, in the vocabulary's order (denoise, deblur, dejpeg,
  dehaze, derain, brighten, dereflect), first expert each, no checks;
- ``fixed_reverse``: the same in the agent's reverse-formation order (isolates the order rule);
- ``agent_no_rollback``: the agent (candidates, scoring, re-analysis) keeping every step;
- ``agent``: the agent.

PSNR / SSIM (RGB, ``restora.quality``; grey sets on the grey image), the no-reference score of
``assess_nr``, seconds per image, steps per image and how often a decision helped: a kept step
helped when it raised PSNR against the ground truth, a rollback when the best candidate would
have lowered it. It rewrites the ``agent`` section of BENCHMARKS.md (not with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from restora.agent.candidates import candidates_for
from restora.agent.judge import DefaultJudge
from restora.agent.learned_judge import shipped_judge
from restora.agent.planning import AgentConfig, order_tasks
from restora.agent.trace import StepRecord
from restora.vocabulary import TASK_FOR_TYPE, TASKS

if TYPE_CHECKING:
    from restora.bench import BenchmarkOutcome

VARIANTS: tuple[str, ...] = (
    "seed",
    "fixed",
    "fixed_reverse",
    "agent_no_rollback",
    "agent",
    "oracle",
)
FULL_SETS: tuple[tuple[str, int], ...] = (
    ("mixed_cbsd68", 100),
    ("cbsd68_sigma25", 10),
    ("live1_q20", 10),
    ("rain100l", 10),
    ("sots_outdoor", 10),
)
QUICK_SETS: tuple[tuple[str, int], ...] = (
    ("mixed_cbsd68", 4),
    ("cbsd68_sigma25", 1),
    ("rain100l", 1),
    ("sots_outdoor", 1),
)


@dataclass
class Tally:
    """Per-variant sums over one data set."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    steps: int = 0
    kept: int = 0
    helped: int = 0
    judged: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "images": len(self.psnr),
            "psnr": float(np.mean(self.psnr)) if self.psnr else float("nan"),
            "ssim": float(np.mean(self.ssim)) if self.ssim else float("nan"),
            "quality": float(np.mean(self.quality)) if self.quality else float("nan"),
            "seconds": float(np.mean(self.seconds)) if self.seconds else float("nan"),
            "steps": self.steps / max(1, len(self.psnr)),
            "kept": self.kept / max(1, len(self.psnr)),
            "helped": self.helped / self.judged if self.judged else float("nan"),
            "decisions": self.judged,
        }


@dataclass(frozen=True)
class OracleJudge(DefaultJudge):
    """A judge that knows the clean image: its quality is the true PSNR, its score nothing else,
    and it keeps a step, and at the end the result, only when the PSNR rises (no guards, no
    margins). Replayed through the same executor as the shipped judge, it gives the best the
    decisions could do with the same candidates."""

    target: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def around(cls, judge: DefaultJudge, target: np.ndarray) -> OracleJudge:
        return cls(
            analyzer=judge.get_analyzer(),
            weight_residual=0.0,
            weight_others=0.0,
            weight_quality=1.0,
            fidelity_floor=-2.0,
            max_quality_drop=float("inf"),
            improve_margin=0.0,
            final_margin=0.0,
            target=target,
        )

    def assess(self, image: np.ndarray, analysis: Any = None) -> Any:
        from restora.agent.judge import Assessment

        found = analysis if analysis is not None else self.analysis(image)
        assert self.target is not None
        if image.shape[:2] != self.target.shape[:2]:  # an upscaled state: no truth to compare
            return Assessment(found, 0.0)
        return Assessment(found, _psnr(image, self.target))


class CachedAnalyzer:
    """The analyzer with a memory: the variants analyse the same inputs and, the agent with and
    without rollback, the same first candidates; one pass per distinct image is enough. The
    judge takes it as its analyzer."""

    def __init__(self, analyzer: Any, size: int = 64) -> None:
        self.analyzer = analyzer
        self.size = size
        self.cache: dict[bytes, Any] = {}

    def analysis(self, image: np.ndarray) -> Any:
        import hashlib

        array = np.ascontiguousarray(image, dtype=np.float32)
        key = hashlib.blake2b(array.tobytes(), digest_size=16).digest() + repr(array.shape).encode()
        if key not in self.cache:
            if len(self.cache) >= self.size:
                self.cache.pop(next(iter(self.cache)))
            self.cache[key] = self.analyzer.analysis(array)
        return self.cache[key]


def pair_arrays(pair: Any) -> tuple[np.ndarray, np.ndarray]:
    """A benchmark pair's input as float32 RGB in [0, 1] (grey repeated) and its target."""
    source = np.clip(np.asarray(pair.input, np.float32), 0.0, 1.0)
    rgb = np.repeat(source[..., None], 3, axis=2) if source.ndim == 2 else source
    return rgb, np.asarray(pair.target, np.float32)


def _psnr(image: np.ndarray, target: np.ndarray) -> float:
    from restora.quality import psnr

    return float(psnr(_like(image, target), target))


def _like(image: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The output in the target's layout (grey sets are measured on the grey image)."""
    return image.mean(axis=2) if target.ndim == 2 and image.ndim == 3 else image


def _comparable(target: np.ndarray, *images: np.ndarray) -> bool:
    """Whether every image has the target's size (a low-resolution state before its upscale
    has no PSNR against the target)."""
    return all(image.shape[:2] == target.shape[:2] for image in images)


def _count_unchecked_step(
    tally: Tally, before: np.ndarray, after: np.ndarray, target: np.ndarray
) -> None:
    """One step kept without a check; it helped when it raised PSNR (judged only when both
    states have the target's size)."""
    tally.steps += 1
    tally.kept += 1
    if _comparable(target, before, after):
        tally.judged += 1
        tally.helped += _psnr(after, target) > _psnr(before, target)


def _first_candidate_run(
    image: np.ndarray, task: str, targets: tuple[str, ...], config: AgentConfig, analysis: Any
) -> np.ndarray:
    found = candidates_for(task, targets, max_seconds_per_mp=config.max_seconds_per_mp)
    if not found:
        return image
    candidate = found[0]
    return candidate.expert(image, **candidate.call_params(image, "normal", None, analysis))


def seed_baseline(
    image: np.ndarray, analyzer: Any, config: AgentConfig, tally: Tally, target: np.ndarray
) -> np.ndarray:
    """Classify once, run the dedicated (first) expert of the top class."""
    analysis = analyzer.analysis(image)
    if analysis.is_clean:
        return image
    top = analysis.degradations[0].type
    out = _first_candidate_run(image, TASK_FOR_TYPE[top], (top,), config, analysis)
    _count_unchecked_step(tally, image, out, target)
    return out


def fixed_pipeline(
    image: np.ndarray,
    analyzer: Any,
    config: AgentConfig,
    tally: Tally,
    target: np.ndarray,
    reverse_formation: bool,
    *,
    order: Sequence[str] | None = None,
) -> np.ndarray:
    """Every detected task in a fixed order, first expert each, no checks.

    ``order`` (degradation types, e.g. the known ones of a synthetic item) replaces the
    analyzer's findings: one step per type, in that order, each with the first expert for that
    type (``reverse_formation`` is then unused)."""
    analysis = analyzer.analysis(image)
    if order is None:
        found = {TASK_FOR_TYPE[d.type]: d.type for d in analysis.degradations}
        tasks = order_tasks(list(found)) if reverse_formation else [t for t in TASKS if t in found]
        types = [d.type for d in analysis.degradations]
        steps = [(task, tuple(t for t in types if TASK_FOR_TYPE[t] == task)) for task in tasks]
    else:
        steps = [(TASK_FOR_TYPE[t], (t,)) for t in order]
    current = image
    for task, targets in steps:
        out = _first_candidate_run(current, task, targets, config, analysis)
        _count_unchecked_step(tally, current, out, target)
        current = out
    return current


def agent_variant(
    image: np.ndarray, judge: DefaultJudge, config: AgentConfig, tally: Tally, target: np.ndarray
) -> tuple[np.ndarray, float | None]:
    from restora.agent.api import restore

    def observe(record: StepRecord, before: np.ndarray, candidate: np.ndarray | None) -> None:
        tally.steps += 1
        tally.kept += record.kept
        if candidate is None or not _comparable(target, before, candidate):
            return
        gain = _psnr(candidate, target) - _psnr(before, target)
        tally.judged += 1
        tally.helped += (gain > 0) if record.kept else (gain <= 0)

    result = restore(image, judge=judge, config=config, observe=observe)
    return result.rgb, result.quality_after


def run(
    data: Path | None,
    sets: tuple[tuple[str, int], ...],
    config: AgentConfig | None = None,
    judge: DefaultJudge | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Every variant on the first ``n`` items of each set; returns the tables as a dict. Every
    variant sees the same analyzer (the judge's, behind a cache); NR is the judge's model."""
    from restora.bench.datasets import get_dataset
    from restora.quality import ssim

    config = replace(config or AgentConfig(), small_side=0)
    judge = judge or shipped_judge()
    analyzer = CachedAnalyzer(judge.get_analyzer())
    judge = replace(judge, analyzer=analyzer)
    results: dict[str, Any] = {"config": config.__dict__, "sets": {}}
    anchor_seconds: list[float] = []
    for name, count in sets:
        dataset = get_dataset(name, data)
        tallies = {v: Tally() for v in VARIANTS}
        inputs: list[float] = []
        for index in range(min(count, len(dataset))):
            pair = dataset[index]
            rgb, target = pair_arrays(pair)
            start = time.perf_counter()
            analyzer.analysis(rgb)  # the speed anchor; later calls on this input hit the cache
            anchor_seconds.append(time.perf_counter() - start)
            inputs.append(_psnr(rgb, target))
            for variant in VARIANTS:
                tally = tallies[variant]
                start = time.perf_counter()
                quality: float | None = None
                if variant == "seed":
                    out = seed_baseline(rgb, analyzer, config, tally, target)
                elif variant.startswith("fixed"):
                    reverse = variant == "fixed_reverse"
                    out = fixed_pipeline(rgb, analyzer, config, tally, target, reverse)
                elif variant == "oracle":
                    oracle = OracleJudge.around(judge, target)
                    # the oracle scores states against the whole clean image, so it decides
                    # on the whole photo, never on a decision crop
                    whole = replace(config, decision_side=0)
                    out, _ = agent_variant(rgb, oracle, whole, tally, target)
                else:
                    variant_config = replace(config, rollback=variant == "agent")
                    out, quality = agent_variant(rgb, judge, variant_config, tally, target)
                tally.seconds.append(time.perf_counter() - start)
                tally.psnr.append(_psnr(out, target))
                tally.ssim.append(float(ssim(_like(out, target), target)))
                if quality is None:
                    quality = judge.no_reference_quality(out)
                tally.quality.append(float(quality))
            log(
                f"{name} {pair.name}: input {inputs[-1]:.2f} dB; "
                + ", ".join(f"{v} {tallies[v].psnr[-1]:.2f}" for v in VARIANTS)
            )
        results["sets"][name] = {
            "input_psnr": float(np.mean(inputs)),
            "variants": {v: t.row() for v, t in tallies.items()},
        }
    results["analyzer_seconds"] = float(np.mean(anchor_seconds)) if anchor_seconds else 0.0
    return results


def to_markdown(results: dict[str, Any], command: str, machine: str, seconds: float) -> str:
    anchor = results["analyzer_seconds"]
    lines = [
        "## Restoration agent",
        "",
        f"Written by `{command}` on {machine}; the run took {seconds:.0f} s. "
        "Same analyzer (shipped weights) and same expert pool for every row: the agent's default "
        f"budget (experts faster than {results['config']['max_seconds_per_mp']:.0f} s/MP, at most "
        f"{results['config']['max_candidates']} candidates per step). `seed`: classify once, run "
        "the first expert for the top class; `fixed`: every detected task in vocabulary order; "
        "`fixed_reverse`: the same in the agent's reverse-formation order; "
        "`agent_no_rollback`: the agent keeping every step; `oracle`: the same agent whose judge "
        "knows the ground truth (per step the candidate with the best true PSNR, or a rollback "
        "when none gains; the result kept whenever it beats the input): the headroom of the "
        "decisions. PSNR/SSIM in RGB against the ground "
        "truth (LIVE1 on the grey image); NR: `assess_nr` 0-100. Speed: seconds per image and as "
        f"a multiple of one analyzer pass on the same image (the anchor: {anchor:.3f} s mean). "
        "helped: share of decisions that raised PSNR (a kept step) or avoided a PSNR loss "
        "(a rollback).",
        "",
    ]
    for name, block in results["sets"].items():
        lines += [
            f"**{name}** (input {block['input_psnr']:.2f} dB)",
            "",
            "| method | images | PSNR | SSIM | NR | s/image | x analyzer pass | steps | kept | helped |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for variant, row in block["variants"].items():
            helped = (
                "" if row["decisions"] == 0 else f"{100 * row['helped']:.0f}% of {row['decisions']}"
            )
            lines.append(
                f"| {variant} | {row['images']} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
                f"{row['quality']:.1f} | {row['seconds']:.2f} | "
                f"{row['seconds'] / max(anchor, 1e-9):.1f} | {row['steps']:.2f} | "
                f"{row['kept']:.2f} | {helped} |"
            )
        lines.append("")
    return "\n".join(lines)


def run_from_cli(
    data_dir: Path | None, quick: bool, command: str | None = None, limit: int | None = None
) -> BenchmarkOutcome:
    """The registered ``agent`` benchmark (``restora bench --task agent [--quick]``; quick runs
    7 items; ``limit``: at most this many items per set). It writes nothing:
    :func:`restora.bench.run_named` writes the section."""
    from restora.bench import BenchmarkOutcome, default_command
    from restora.bench.report import machine_description

    start = time.perf_counter()
    sets = QUICK_SETS if quick else FULL_SETS
    if limit is not None:
        sets = tuple((name, min(count, limit)) for name, count in sets)
    results = run(data_dir, sets, log=lambda line: print(line, file=sys.stderr))
    command = command or default_command("agent", quick)
    text = to_markdown(results, command, machine_description(), time.perf_counter() - start)
    return BenchmarkOutcome("agent", text, results)


def main(argv: list[str] | None = None) -> int:
    from restora.bench import command_line, run_named

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--tune", type=int, default=0, metavar="N", help="tune on N train items")
    parser.add_argument("--weights", type=Path, default=None, help="analyzer weights")
    parser.add_argument("--limit", type=int, default=None, help="at most N items per set")
    args = parser.parse_args(argv)
    if args.tune:
        judge = DefaultJudge(analyzer_weights=args.weights)
        results = tune(args.data, args.tune, judge, rows_path=args.json)
    else:
        command = command_line("restora.bench.agent", argv)
        outcome = run_named("agent", args.data, args.quick, command=command, limit=args.limit)
        print(outcome.markdown)
        results = outcome.results
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


# ------------------------------------------------------------------ tuning on training images


def training_mixed_items(
    data: Path | None, count: int, seed: int = 777
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(degraded, clean) pairs made like ``mixed_cbsd68`` but from the CBSD432 training images
    (never from the test sets), for choosing the agent's score weights."""
    from restora.bench.datasets import read_uint8, to_unit
    from restora.degradations import synthesize
    from restora.training.data import list_training_images
    from restora.vocabulary import DEGRADATION_TYPES

    # the CBSD432 list only: train/BSDS500/val holds the CBSD68 test images
    files = list_training_images(data, sets=("CBSD432",))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(files), size=min(count, len(files)), replace=False)
    items = []
    for n, index in enumerate(chosen):
        clean = to_unit(read_uint8(files[int(index)], "RGB"))
        other = to_unit(read_uint8(files[int(chosen[(n + 1) % len(chosen)])], "RGB"))
        degraded, _ = synthesize(
            clean,
            "mixed",
            seed=seed + n,
            stage="hard",
            num_types=(2, 3),
            pool=DEGRADATION_TYPES,
            second_order=False,
            reflection_pool=[other],
        )
        items.append((np.clip(degraded, 0, 1).astype(np.float32), clean))
    return items


def collect_decisions(
    items: list[tuple[np.ndarray, np.ndarray]], judge: DefaultJudge, config: AgentConfig
) -> list[dict[str, Any]]:
    """For every step the agent (without rollback) meets: the state before and each candidate's
    score parts, fidelity and true PSNR change."""
    from restora.agent.api import restore
    from restora.experts import get_expert

    rows: list[dict[str, Any]] = []
    for degraded, clean in items:

        def observe(
            record: StepRecord,
            before: np.ndarray,
            _: np.ndarray | None,
            clean: np.ndarray = clean,
        ) -> None:
            base = judge.score(judge.assess(before), record.targets)
            psnr_before = _psnr(before, clean)
            candidates = []
            for attempt in record.attempts:
                if attempt.score is None:
                    continue
                output = get_expert(attempt.expert)(before, **attempt.params)
                output = before + np.float32(attempt.blend) * (output - before)
                candidates.append(
                    {
                        "expert": attempt.expert,
                        "blend": attempt.blend,
                        "residual": attempt.residual,
                        "others": attempt.others,
                        "quality": attempt.quality,
                        "fidelity": attempt.fidelity,
                        "gain": _psnr(output, clean) - psnr_before,
                    }
                )
            rows.append(
                {
                    "task": record.task,
                    "residual": base.residual,
                    "others": base.others,
                    "quality": base.quality,
                    "candidates": candidates,
                }
            )

        restore(
            degraded,
            judge=judge,
            config=replace(config, rollback=False, small_side=0),
            observe=observe,
        )
    return rows


def decision_value(
    rows: list[dict[str, Any]], judge: DefaultJudge, use_blends: bool = True
) -> tuple[float, float]:
    """Mean PSNR change per step of ``judge``'s decisions replayed over cached ``rows`` (the
    best candidate by its score among those its guards admit, kept when :meth:`keeps` says so),
    and the share of steps where it chose right."""
    total, right = 0.0, 0
    for row in rows:
        before = judge.combine(row["residual"], row["others"], row["quality"])
        allowed = [
            c
            for c in row["candidates"]
            if (use_blends or (c.get("blend", 1.0) == 1.0 and "*" not in c["expert"]))
            and judge.admits(c["fidelity"], row["quality"] - c["quality"])[0]
        ]
        best = max(
            allowed,
            key=lambda c: judge.combine(c["residual"], c["others"], c["quality"]),
            default=None,
        )
        gain_score = (
            judge.combine(best["residual"], best["others"], best["quality"]) - before
            if best is not None
            else 0.0
        )
        keep = best is not None and judge.keeps(gain_score, asked=False)
        gain = best["gain"] if keep and best is not None else 0.0
        total += gain
        oracle = max([0.0, *(c["gain"] for c in row["candidates"])])
        right += abs(gain - oracle) < 0.05 or (gain > 0 and oracle - gain < 0.2)
    return total / max(1, len(rows)), right / max(1, len(rows))


def tune(
    data: Path | None,
    count: int,
    judge: DefaultJudge | None = None,
    log: Any = print,
    rows_path: Path | None = None,
) -> dict[str, Any]:
    """Grid over the judge's score weights, margin, fidelity floor and quality-drop guard on
    training-image mixed items, replaying the same judge object with each setting; prints the
    best settings (DefaultJudge's defaults came from this: ``python -m restora.bench.agent
    --tune 48 --json rows.json``; an existing ``--json`` file's collected steps are reused
    instead of running the agent again)."""
    import itertools

    judge = judge or DefaultJudge()
    if rows_path is not None and rows_path.is_file():
        rows = json.loads(rows_path.read_text())["rows"]
    else:
        cached = replace(judge, analyzer=CachedAnalyzer(judge.get_analyzer()))
        rows = collect_decisions(training_mixed_items(data, count), cached, AgentConfig())
    grid: list[dict[str, Any]] = []
    for w_r, w_o, w_q, margin, floor, drop, blends in itertools.product(
        (0.25, 0.5, 0.75),
        (0.0, 0.25, 0.5),
        (0.0, 0.25, 0.5, 1.0),
        (0.0, 0.5, 1.0, 2.0, 5.0),
        (0.6, 0.7, 0.8, 0.9),
        (10.0, 20.0, 40.0, 101.0),
        (True, False),
    ):
        if w_r + w_o + w_q == 0:
            continue
        setting = replace(
            judge,
            weight_residual=w_r,
            weight_others=w_o,
            weight_quality=w_q,
            improve_margin=margin,
            fidelity_floor=floor,
            max_quality_drop=drop,
        )
        value, right = decision_value(rows, setting, blends)
        grid.append(
            {
                "weights": (w_r, w_o, w_q),
                "margin": margin,
                "floor": floor,
                "max_quality_drop": drop,
                "blends": blends,
                "db_per_step": value,
                "right": right,
            }
        )
    grid.sort(key=lambda g: (-float(g["db_per_step"]), -float(g["right"])))
    always = sum(max((c["gain"] for c in r["candidates"][:1]), default=0.0) for r in rows) / max(
        1, len(rows)
    )
    oracle = sum(max([0.0, *(c["gain"] for c in r["candidates"])]) for r in rows) / max(
        1, len(rows)
    )
    current = decision_value(rows, judge, bool(AgentConfig().blend_fractions))
    log(
        f"{len(rows)} steps from {count} training items; dB per step: keep first candidate "
        f"always {always:+.3f}, oracle {oracle:+.3f}, current judge {current[0]:+.3f} "
        f"({100 * current[1]:.0f}% right)"
    )
    for g in grid[:10]:
        log(f"  {g}")
    return {
        "rows": rows,
        "steps": len(rows),
        "always_first": always,
        "oracle": oracle,
        "current": current,
        "best": grid[:10],
    }


if __name__ == "__main__":
    sys.exit(main())
