"""Evaluate the instruction parser on the held-out instructions and write BENCHMARKS.md.

    restora bench --task language               # prints the table, rewrites the language section
    python -m restora.bench.language            # the same
    python -m restora.bench.language --split dev --no-write

Exact match is computed per field on the *test* split by default (and always on the
*unlisted* split: phrasings without the lexicon's keywords): ``tasks`` as a set (and, as
an extra column, in order), ``exclude`` as a set, ``scale``, ``auto``, ``strength`` and whether
the instruction was flagged unsupported. Latency is the median wall time of ``parse`` per
instruction after the encoder is loaded, quoted with the time of one MiniLM forward pass of one
sentence measured in the same run (the anchor). The section is written through
:func:`restora.bench.run_named`; ``--quick`` measures the same and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named
from restora.bench.report import machine_description
from restora.paths import PACKAGE_DIR
from restora.types import Intent

EVAL_DIR = PACKAGE_DIR / "language" / "eval"
FIELDS = ("tasks", "tasks_order", "exclude", "scale", "auto", "strength", "unsupported")


def load_split(split: str) -> list[dict[str, Any]]:
    path = EVAL_DIR / f"instructions_{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def field_matches(expected: dict[str, Any], intent: Intent) -> dict[str, bool]:
    return {
        "tasks": set(intent.tasks) == set(expected["tasks"]),
        "tasks_order": list(intent.tasks) == list(expected["tasks"]),
        "exclude": set(intent.exclude) == set(expected["exclude"]),
        "scale": intent.scale == expected["scale"],
        "auto": intent.auto == expected["auto"],
        "strength": intent.strength == expected["strength"],
        "unsupported": bool(intent.unsupported) == bool(expected["unsupported"]),
    }


def evaluate(
    rows: list[dict[str, Any]], parse: Callable[[str], Intent]
) -> tuple[dict[str, float], list[float], list[dict[str, Any]]]:
    """Accuracy per field, per-instruction seconds, and the rows that missed any field."""
    hits = dict.fromkeys(FIELDS, 0)
    seconds: list[float] = []
    misses: list[dict[str, Any]] = []
    for row in rows:
        start = time.perf_counter()
        intent = parse(row["text"])
        seconds.append(time.perf_counter() - start)
        matches = field_matches(row, intent)
        for name, ok in matches.items():
            hits[name] += ok
        if not all(matches.values()):
            misses.append({"text": row["text"], "got": intent.to_dict(), "expected": row})
    return {k: v / len(rows) for k, v in hits.items()}, seconds, misses


def run(split: str = "test") -> dict[str, Any]:
    from restora.language import encoder as encoder_module
    from restora.language.parser import SemanticClauseClassifier, parse_instruction

    rows = load_split(split)
    start = time.perf_counter()
    encoder = encoder_module.get_text_encoder("cpu")
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    classifier = SemanticClauseClassifier(encode=encoder.encode)
    classifier_seconds = time.perf_counter() - start

    # anchor: one MiniLM forward pass on one new sentence (the cache is bypassed by new text)
    anchor = []
    for i in range(20):
        encoder._cache.clear()
        t0 = time.perf_counter()
        encoder.encode([f"anchor sentence number {i} for timing"])
        anchor.append(time.perf_counter() - t0)
    anchor_seconds = statistics.median(anchor)

    first = time.perf_counter()
    parse_instruction(rows[0]["text"], classifier=classifier)
    first_call_seconds = time.perf_counter() - first
    encoder._cache.clear()
    accuracy, seconds, misses = evaluate(
        rows, lambda text: parse_instruction(text, classifier=classifier)
    )
    lexicon_only, _, _ = evaluate(rows, lambda text: parse_instruction(text, use_semantic=False))
    unlisted_rows = load_split("unlisted")
    unlisted, _, unlisted_misses = evaluate(
        unlisted_rows, lambda text: parse_instruction(text, classifier=classifier)
    )
    unlisted_lexicon, _, _ = evaluate(
        unlisted_rows, lambda text: parse_instruction(text, use_semantic=False)
    )
    return {
        "unlisted": unlisted,
        "unlisted_lexicon": unlisted_lexicon,
        "unlisted_n": len(unlisted_rows),
        "unlisted_misses": unlisted_misses,
        "split": split,
        "n": len(rows),
        "accuracy": accuracy,
        "lexicon_only": lexicon_only,
        "median_parse_ms": 1000 * statistics.median(seconds),
        "p95_parse_ms": 1000 * sorted(seconds)[int(0.95 * (len(seconds) - 1))],
        "anchor_ms": 1000 * anchor_seconds,
        "load_s": load_seconds,
        "classifier_s": classifier_seconds,
        "first_call_ms": 1000 * first_call_seconds,
        "misses": misses,
        "machine": machine_description(),
    }


def markdown(result: dict[str, Any], command: str = "restora bench --task language") -> str:
    acc, lex = result["accuracy"], result["lexicon_only"]
    ratio = result["median_parse_ms"] / result["anchor_ms"]
    lines = [
        "## Language: instruction parsing",
        "",
        f"Written by `{command}` on a {result['machine']}. "
        f"Exact match on the **{result['split']}** split of "
        f"`src/restora/language/eval/` ({result['n']} hand-written instructions; "
        + (
            "the parser was tuned on the dev split only, never on this one). "
            if result["split"] == "test"
            else "this is the split the parser was tuned on). "
        )
        + "`tasks` is compared as a set, `tasks (order)` as a list.",
        "",
        "| parser | tasks | tasks (order) | exclude | scale | auto | strength | unsupported |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in (("embedded (lexicon + MiniLM fallback)", acc), ("lexicon only", lex)):
        cells = " | ".join(f"{100 * row[f]:.1f}%" for f in FIELDS)
        lines.append(f"| {name} | {cells} |")
    lines += [
        "",
        f"Phrasings without the lexicon's keywords (`instructions_unlisted.jsonl`, "
        f"{result['unlisted_n']} instructions written after the parser and never tuned on: "
        '"the edges look mushy", "I can hardly make out the faces"); this is what the '
        "MiniLM fallback is for:",
        "",
        "| parser | tasks | tasks (order) | exclude | scale | auto | strength | unsupported |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in (
        ("embedded (lexicon + MiniLM fallback)", result["unlisted"]),
        ("lexicon only", result["unlisted_lexicon"]),
    ):
        cells = " | ".join(f"{100 * row[f]:.1f}%" for f in FIELDS)
        lines.append(f"| {name} | {cells} |")
    lines += [
        "",
        "| timing | value |",
        "|---|---|",
        f"| MiniLM load (once per process) | {result['load_s']:.2f} s |",
        f"| description embeddings for the fallback (once) | {result['classifier_s']:.2f} s |",
        f"| first parse after load | {result['first_call_ms']:.1f} ms |",
        f"| median parse per instruction | {result['median_parse_ms']:.2f} ms "
        f"({ratio:.3f}x one MiniLM forward pass of one sentence, the anchor: "
        f"{result['anchor_ms']:.2f} ms) |",
        f"| 95th percentile parse | {result['p95_parse_ms']:.2f} ms |",
        "",
        f"Misses on this split: {len(result['misses'])} of {result['n']} instructions "
        "differ in at least one field (listed by `--show-misses`).",
    ]
    return "\n".join(lines)


def benchmark(
    data_dir: Path | None, quick: bool, split: str = "test", command: str | None = None
) -> BenchmarkOutcome:
    """The registered ``language`` benchmark (``restora bench --task language``); the
    instructions ship with the package, so ``data_dir`` is not read, and the run takes seconds,
    so ``quick`` measures the same."""
    del data_dir
    result = run(split)
    return BenchmarkOutcome(
        "language", markdown(result, command or default_command("language", quick)), result
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["dev", "test", "unlisted"])
    parser.add_argument(
        "--benchmarks", type=Path, default=None, help="file to write (default the checkout's)"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    outcome = run_named(
        "language",
        None,
        False,
        write=not args.no_write,
        path=args.benchmarks,
        split=args.split,
        command=command_line("restora.bench.language", argv),
    )
    print(outcome.markdown)
    if args.show_misses:
        for miss in outcome.results["misses"] + outcome.results["unlisted_misses"]:
            print(json.dumps(miss, ensure_ascii=False))
    if not args.no_write:
        print(f"wrote the language section of {args.benchmarks or 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
