"""Compare judges on the agent benchmark's sets: ``python -m restora.bench.judges``.

The same executor, analyzer (shipped weights, behind one cache) and expert pool for every row;
only the judge changes: ``default`` (:class:`restora.agent.judge.DefaultJudge`), ``learned``
(:class:`restora.agent.learned_judge.LearnedJudge`, shipped weights) and ``oracle``
(:class:`restora.bench.agent.OracleJudge`: knows the clean image). By default the first 12
items of ``mixed_cbsd68`` and the single sets of ``restora.bench.agent.QUICK_SETS``. It prints a
table and writes nothing unless ``--json`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from restora.agent.judge import DefaultJudge
from restora.agent.planning import AgentConfig
from restora.bench.agent import (
    QUICK_SETS,
    CachedAnalyzer,
    OracleJudge,
    Tally,
    _psnr,
    agent_variant,
    pair_arrays,
)

JUDGES: tuple[str, ...] = ("default", "learned", "oracle")


def compare(
    data: Path | None,
    sets: tuple[tuple[str, int], ...],
    judge_weights: Path | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Mean PSNR (and decisions) per set for each judge of :data:`JUDGES`."""
    from restora.agent.learned_judge import LearnedJudge
    from restora.bench.datasets import get_dataset

    config = replace(AgentConfig(), small_side=0)
    default = DefaultJudge()
    analyzer = CachedAnalyzer(default.get_analyzer())
    judges = {
        "default": replace(default, analyzer=analyzer),
        "learned": LearnedJudge(analyzer=analyzer, judge_weights=judge_weights),
    }
    results: dict[str, Any] = {}
    for name, count in sets:
        dataset = get_dataset(name, data)
        tallies = {j: Tally() for j in JUDGES}
        inputs: list[float] = []
        for index in range(min(count, len(dataset))):
            pair = dataset[index]
            rgb, target = pair_arrays(pair)
            inputs.append(_psnr(rgb, target))
            for judge_name in JUDGES:
                tally = tallies[judge_name]
                judge = (
                    OracleJudge.around(judges["default"], target)
                    if judge_name == "oracle"
                    else judges[judge_name]
                )
                start = time.perf_counter()
                out, _ = agent_variant(rgb, judge, config, tally, target)
                tally.seconds.append(time.perf_counter() - start)
                tally.psnr.append(_psnr(out, target))
            log(
                f"{name} {pair.name}: input {inputs[-1]:.2f}; "
                + ", ".join(f"{j} {tallies[j].psnr[-1]:.2f}" for j in JUDGES)
            )
        results[name] = {
            "input_psnr": float(np.mean(inputs)),
            "judges": {
                j: {
                    "images": len(t.psnr),
                    "psnr": float(np.mean(t.psnr)),
                    "seconds": float(np.mean(t.seconds)),
                    "steps": t.steps / max(1, len(t.psnr)),
                    "kept": t.kept / max(1, len(t.psnr)),
                    "helped": t.helped / t.judged if t.judged else float("nan"),
                }
                for j, t in tallies.items()
            },
        }
    return results


def to_markdown(results: dict[str, Any]) -> str:
    lines = [
        "| set | images | input | " + " | ".join(JUDGES) + " |",
        "|---|---:|---:|" + "---:|" * len(JUDGES),
    ]
    for name, block in results.items():
        row = block["judges"]
        lines.append(
            f"| {name} | {row['default']['images']} | {block['input_psnr']:.2f} | "
            + " | ".join(f"{row[j]['psnr']:.2f}" for j in JUDGES)
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--mixed", type=int, default=12, help="mixed_cbsd68 items")
    parser.add_argument("--judge-weights", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sets = (("mixed_cbsd68", args.mixed), *(s for s in QUICK_SETS if s[0] != "mixed_cbsd68"))
    results = compare(args.data, sets, args.judge_weights, log=lambda s: print(s, flush=True))
    print(to_markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
