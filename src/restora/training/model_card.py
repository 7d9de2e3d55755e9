"""Model card of the learned experts, written from their JSON records and a benchmark report.

    python -m restora.training.model_card [--lineage] [--bench out/bench/bench_experts.json]

reads every ``<name>.json`` in ``restora/weights/experts`` (written by
:mod:`restora.training.restorer`: architecture, training config, time, device, validation
history) and, when given, the report of ``restora bench`` (every row of the learned experts and
of the methods they are compared with), and writes ``MODEL_CARD.md`` beside the weights. Nothing
in the card is typed by hand: rerun the command after retraining or re-benchmarking.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from restora.experts.learned_models import EXPERT_WEIGHTS

INTRO = """# Learned restoration experts (NAFNet) and the conditioned all-in-one

Written by `python -m restora.training.model_card` from the records beside the weights and the
benchmark report; do not edit by hand.

- **Architecture**: NAFNet-style U-Net (Chen et al., ECCV 2022), plain torch; the all-in-one
  model gates every encoder/decoder stage with the all-MiniLM-L6-v2 embedding of an instruction
  (InstructIR, Conde et al., ECCV 2024). Upscaling is bicubic pre-upsampling + the network.
- **Data**: random crops of `train/` only (CBSD432 minus 16 held-out files used for validation,
  + Train400 grey), degraded on the fly by `restora.training.restorer`'s task samplers
  (noise sigma 0-55 colour/grey, JPEG q10-60 colour/grey, Gaussian/defocus/motion blur, x2/x4
  bicubic and blurred downscaling, rendered rain, haze, low light + noise, glass reflections).
- **Real noise** (`nafnet_denoise_real`): `nafnet_denoise` fine-tuned (`--task denoise_real`)
  on a mixture: 30 % crops of real photo pairs (PolyU noisy photos of the training scenes of
  `restora.training.splits` and their mean-image ground truth, from `real_train/`; the held-out
  scenes are the benchmark's), the rest simulated captures (Brooks et al.'s unprocessing: noise
  on the Bayer mosaic, demosaicing, in-camera denoising and sharpening, JPEG), Gaussian noise
  saved as JPEG, and plain Gaussian noise so the network keeps its Gaussian figures.
- **Loss / optimiser**: PSNR loss, AdamW (0.9, 0.9), cosine schedule, gradient clip 0.5, seeded.
- **Intended use**: the experts of restora's agent; research baselines. Not for forensic use:
  outputs are plausible reconstructions, not measurements.
- **Hardware**: the small models trained on a 2-core CPU; the base models (denoise, deblur,
  dehaze) on a lent H100 in time-boxed runs (`--max-minutes`) that shared the GPU with 1-3 other
  training jobs, with `--workers` processes making the pairs.
- **Limits**: trained briefly (minutes, see below); synthetic degradations only, so real
  rain/haze/reflections that differ from the engine's renderings are handled worse than the
  validation figures suggest.
"""


def _validation_table(record: dict[str, Any]) -> list[str]:
    history = record.get("validation") or []
    if not history:
        return ["(no validation recorded)"]
    last = history[-1]
    tasks = [k for k in last if k != "step"]
    lines = [
        f"Validation at step {last['step']} ({record['train']['val_crops']} held-out "
        f"{record['train']['val_crop']} px crops per task, PSNR dB):",
        "",
        "| task | input | output | gain |",
        "|---|---|---|---|",
    ]
    for task in tasks:
        score = last[task]
        gain = score["output"] - score["input"]
        lines.append(f"| {task} | {score['input']:.2f} | {score['output']:.2f} | {gain:+.2f} |")
    return lines


def _num(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _bench_lines(report: dict[str, Any]) -> list[str]:
    rows = report.get("rows", [])
    by_set: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_set.setdefault(row["dataset"], []).append(row)
    lines = [
        f"## Benchmarks (`restora bench`, {report.get('machine', '?')}; "
        f"{'quick' if report.get('quick') else 'full'} mode, max images per set: "
        f"{report.get('max_images') or 'all'})",
        "",
        "| data set | method | kind | images | PSNR | SSIM | s/MP | speed vs ref | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, entries in by_set.items():
        for row in sorted(entries, key=lambda r: -(r["psnr"] or 0)):
            ratio = row.get("speed_ratio")
            lines.append(
                f"| {dataset} | {row['method']} | {row['kind']} | {row['images']} | "
                f"{_num(row['psnr'], '.2f')} | {_num(row['ssim'], '.4f')} | "
                f"{_num(row['seconds_per_mp'], '.2f')} | {_num(ratio, '.3g')}{'x' if ratio else ''} "
                f"| {row.get('note', '')} |"
            )
    return lines


def _steps_done(run: Path, train: dict[str, Any]) -> int:
    """Steps a run really made: the last step of its log (a time-boxed run stops before its
    nominal ``steps``), else the configured number."""
    steps = 0
    log = run / "log.jsonl"
    if log.is_file():
        for line in log.read_text().splitlines():
            steps = max(steps, int(json.loads(line).get("step", 0)))
    return steps or int(train["steps"])


def add_lineage(folder: Path = EXPERT_WEIGHTS) -> None:
    """Record in each shipped JSON the chain of runs it was fine-tuned from (``--init`` of each
    run's ``config.json``, followed back), with the steps and minutes of each, so the card can
    state the whole training time. Needs the run folders (``runs/...``) the weights came from."""
    from restora.training.restorer import total_seconds

    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        if "trained" not in record:
            continue
        lineage, init = [], record["train"].get("init", "")
        while init:
            run = Path(init).parent
            config = run / "config.json"
            if not config.is_file():
                break
            train = json.loads(config.read_text())["train"]
            lineage.append(
                {"run": run.name, "task": train["task"], "steps": _steps_done(run, train),
                 "seconds": total_seconds(run / "log.jsonl")}
            )  # fmt: skip
            init = train.get("init", "")
        if not lineage:
            continue
        record["trained"]["lineage"] = lineage
        own = record["trained"].get("seconds_total", record["trained"]["seconds_this_run"])
        record["trained"]["seconds_with_lineage"] = round(
            own + sum(s["seconds"] for s in lineage), 1
        )
        path.write_text(json.dumps(record, indent=2) + "\n")


def write_card(folder: Path = EXPERT_WEIGHTS, bench: Sequence[Path] = ()) -> Path:
    loaded = (json.loads(p.read_text()) for p in sorted(folder.glob("*.json")))
    records = [r for r in loaded if "parameters" in r and "trained" in r]  # exported models only
    lines = [INTRO]
    lines += [
        "## Models",
        "",
        "| model | tasks | parameters | size MB | steps | batch x crop | train time | device |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        train = record["train"]
        weights = folder / f"{record['name']}.safetensors"
        tasks = ", ".join(train["tasks"]) if train["task"] == "all" else train["task"]
        trained = record["trained"]
        seconds = trained.get("seconds_total", trained["seconds_this_run"])
        chain = " <- ".join(f"{s['run']} ({s['steps']} steps)" for s in trained.get("lineage", []))
        with_init = trained.get("seconds_with_lineage", seconds) / 60
        lines.append(
            f"| {record['name']} | {tasks} | {record['parameters'] / 1e6:.2f} M | "
            f"{weights.stat().st_size / 1e6:.1f} | {trained.get('steps', train['steps'])}"
            f"{' after ' + chain if chain else ''} | "
            f"{train['batch']} x {train['crop']} px | {seconds / 60:.0f} min"
            f"{f' ({with_init:.0f} with its init)' if chain else ''} | "
            f"{record['trained']['device']} ({record['trained']['machine']}) |"
        )
    for record in records:
        lines += ["", f"### {record['name']}", "", *_validation_table(record)]
    for report in bench:
        lines += ["", *_bench_lines(json.loads(Path(report).read_text()))]
    card = folder / "MODEL_CARD.md"
    card.write_text("\n".join(lines) + "\n")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=EXPERT_WEIGHTS)
    parser.add_argument(
        "--bench", type=Path, nargs="*", default=[], help="bench_experts.json files"
    )
    parser.add_argument(
        "--lineage", action="store_true", help="first record each model's --init chain (runs/)"
    )
    args = parser.parse_args(argv)
    if args.lineage:
        add_lineage(args.folder)
    print(write_card(args.folder, args.bench))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
