"""The registry of benchmarks and its one writer of BENCHMARKS.md (no real benchmark runs)."""

from __future__ import annotations

import inspect
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import restora.bench as bench
from restora.bench import BENCHMARKS, BenchmarkOutcome, get_benchmark, list_benchmarks, run_named
from restora.errors import InputError, UnknownNameError

EXPECTED = {
    "analyze",
    "agent",
    "quality",
    "language",
    "batch",
    "degradations",
    "speed",
    "published",
    "runtimes",
    "agenticir",
    "real_noise",
}


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[Any, ...]]:
    """A registered benchmark ``fake`` (module ``restora_fake_bench``) that records its calls;
    the default BENCHMARKS.md is redirected into ``tmp_path``."""
    calls: list[tuple[Any, ...]] = []

    def run(data_dir: Path | None, quick: bool, **options: Any) -> BenchmarkOutcome:
        calls.append((data_dir, quick, options))
        card = tmp_path / "CARD.md"
        return BenchmarkOutcome(
            "fake",
            f"## Fake\n\nquick={quick}\n",
            {"value": 1.5, "rows": []},
            ((card, "card text\n"),),
        )

    module = types.ModuleType("restora_fake_bench")
    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "restora_fake_bench", module)
    monkeypatch.setitem(BENCHMARKS, "fake", "restora_fake_bench:run")
    from restora.bench import report

    monkeypatch.setattr(report, "BENCHMARKS_MD", tmp_path / "DEFAULT.md")
    return calls


def test_registry_lists_every_benchmark() -> None:
    assert set(list_benchmarks()) == EXPECTED == set(BENCHMARKS)
    for name in EXPECTED:
        module, _, function = BENCHMARKS[name].partition(":")
        assert module.startswith("restora.bench.") and function, name
    from restora.bench.harness import TASK_DATASETS

    assert not set(TASK_DATASETS) & EXPECTED  # the expert tables stay in the harness


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_entry_resolves_to_one_signature(name: str) -> None:
    function = get_benchmark(name)
    parameters = list(inspect.signature(function).parameters.values())
    assert [p.name for p in parameters[:2]] == ["data_dir", "quick"], name
    assert all(p.default is not inspect.Parameter.empty for p in parameters[2:]), name
    assert "command" in {p.name for p in parameters}, name


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError) as error:
        get_benchmark("nope")
    message = str(error.value)
    assert "nope" in message and all(name in message for name in EXPECTED)
    assert error.value.valid == list(BENCHMARKS)
    with pytest.raises(UnknownNameError):
        run_named("nope", quick=True)


def test_run_named_writes_only_full_runs(fake: list[tuple[Any, ...]], tmp_path: Path) -> None:
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# B\n\n<!-- BEGIN fake -->\nold\n<!-- END fake -->\ntail\n")
    quick = run_named("fake", tmp_path, quick=True, path=target)
    assert quick.results == {"value": 1.5, "rows": []} and "old" in target.read_text()
    assert not (tmp_path / "CARD.md").exists()
    run_named("fake", None, quick=False, write=False, path=target)
    assert "old" in target.read_text() and not (tmp_path / "CARD.md").exists()
    outcome = run_named("fake", None, quick=False, path=target, extra=3)
    text = target.read_text()
    assert "quick=False" in text and "old" not in text and text.endswith("tail\n")
    assert outcome.markdown in text
    assert (tmp_path / "CARD.md").read_text() == "card text\n"  # the outcome's other files
    assert fake == [(tmp_path, True, {}), (None, False, {}), (None, False, {"extra": 3})]
    run_named("fake")  # default target: the checkout's BENCHMARKS.md (redirected here)
    assert "<!-- BEGIN fake -->" in (tmp_path / "DEFAULT.md").read_text()


def test_run_named_is_the_only_writer() -> None:
    """No benchmark module calls write_section itself (the harness's experts blocks aside)."""
    folder = Path(bench.__file__).parent
    writers = {
        p.name for p in folder.glob("*.py") if "write_section(" in p.read_text(encoding="utf-8")
    }
    assert writers == {"__init__.py", "report.py", "harness.py"}


def test_cli_runs_registered_benchmarks(
    fake: list[tuple[Any, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.cli import main

    target = tmp_path / "B.md"
    assert main(["bench", "--task", "fake", "--quick", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"fake": {"value": 1.5, "rows": []}}
    assert not (tmp_path / "DEFAULT.md").exists()
    assert main(["bench", "--task", "fake", "--update-benchmarks", str(target)]) == 0
    out = capsys.readouterr()
    assert "quick=False" in out.out and "wrote the fake section" in out.err
    assert "quick=False" in target.read_text()
    assert main(["bench", "--task", "fake", "--task", "denoise"]) == 2
    assert main(["bench", "--task", "fake", "--method", "bicubic"]) == 2
    capsys.readouterr()
    assert main(["bench", "--task", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "denoise" in err and "quality" in err


def test_cli_help_names_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    from restora.cli import main

    assert main(["bench", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in EXPECTED)


def test_module_mains_route_through_run_named(
    fake: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``python -m restora.bench.batch --images 3 --write`` runs the registered function with
    its options and writes through run_named; without --write nothing is written."""
    from restora.bench import batch

    monkeypatch.setitem(BENCHMARKS, "batch", "restora_fake_bench:run")
    assert batch.main(["--images", "3", "--agent-images", "1"]) == 0
    assert not (tmp_path / "DEFAULT.md").exists()
    assert fake[-1][2]["images"] == 3 and fake[-1][2]["agent_images"] == 1
    assert fake[-1][2]["command"] == "python -m restora.bench.batch --images 3 --agent-images 1"
    assert batch.main(["--images", "3", "--write"]) == 0
    assert "<!-- BEGIN fake -->" in (tmp_path / "DEFAULT.md").read_text()


def test_sections_name_the_command_that_wrote_them() -> None:
    from restora.bench import degradations, language, quality
    from tests.test_bench_quality import quality_results

    assert "Written by `restora bench --task quality`." in quality.render(quality_results())
    row = dict.fromkeys(language.FIELDS, 1.0)
    parsed = {
        "accuracy": row,
        "lexicon_only": row,
        "unlisted": row,
        "unlisted_lexicon": row,
        "unlisted_n": 1,
        "split": "test",
        "n": 1,
        "median_parse_ms": 1.0,
        "p95_parse_ms": 1.0,
        "anchor_ms": 2.0,
        "load_s": 0.1,
        "classifier_s": 0.1,
        "first_call_ms": 1.0,
        "misses": [],
        "machine": "test box",
    }
    assert "Written by `restora bench --task language` on" in language.markdown(parsed)
    timing = {
        "machine": "test box",
        "anchor_blur_ms": 0.1,
        "per_type_ms": {"noise": 0.2},
        "images": 1,
        "preload_s": 0.1,
        "clean_batch_ms": 1.0,
        "serial_batch_ms": 2.0,
        "loader_batch_ms": 1.5,
        "workers": 2,
        "loader_batches": 3,
    }
    text = degradations.benchmark_markdown(timing, [(2, 50.0, 0.99)])
    assert "Measured by `restora bench --task degradations` on" in text


def _analyzer_results() -> dict[str, Any]:
    from restora.vocabulary import DEGRADATION_TYPES

    per_type = {"precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 2, "severity_mae": 0.1}
    return {
        "synthetic": {
            "images": 3,
            "single_samples": 27,
            "nine_class_accuracy": 0.9,
            "four_class_accuracy": 0.95,
            "per_class_accuracy": {"noise": 1.0, "None": 0.5},
            "mixed_samples": 3,
            "mixed_exact_set_accuracy": 0.3,
            "per_type": dict.fromkeys(DEGRADATION_TYPES, per_type),
        },
        "real": [{"set": "demo", "file": "a.png", "found": "clean", "quality": 50.0}],
        "live": {"images": 60, "srcc": 0.4, "plcc": 0.4},
        "speed": {"megapixels": 12.0, "analyse_seconds": 0.1, "decode_png_seconds": 0.5},
        "max_side": 256,
        "machine": "test box",
    }


def test_analyzer_outcome_brings_the_model_card_on_full_runs_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from restora.bench import perception
    from restora.perception.analyzer import DEFAULT_WEIGHTS

    (tmp_path / "test").mkdir()
    monkeypatch.setattr(perception, "run", lambda *args, **kwargs: _analyzer_results())
    quick = perception.benchmark(tmp_path, True)
    assert quick.section == "analyzer" and quick.files == ()
    assert "Measured by `restora bench --task analyze --quick` on test box" in quick.markdown
    assert "at most 256 px" in quick.markdown
    full = perception.benchmark(tmp_path, False)
    ((card_path, card),) = full.files
    assert card_path == Path(DEFAULT_WEIGHTS).parent / "MODEL_CARD.md"
    assert "`restora bench --task analyze`): 4-class anchor protocol" in card
    with pytest.raises(InputError, match="test not found"):
        perception.benchmark(tmp_path / "missing", True)
