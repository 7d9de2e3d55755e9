"""The Gradio page of ``restora serve``, built on the Python API only.

Upload an image (or pick a bundled example), type an instruction, press Run: the page streams
the agent's steps while it works, then shows a before/after slider, the analysis in words and
bars (before and after), the plan and every step of the trace, the quality report
(``restora.quality.assess_nr`` and the analyzer's quality head) and downloads of the result
(PNG) and of the agent's self-contained HTML report.

User errors (no file, not an image, over the pixel limit, an instruction restora cannot do)
are shown in the page as one sentence (``gr.Error``); anything else is logged on the server
and the page says that it failed, never with a traceback. Models are loaded once per process
(``restora.perception.get_analyzer`` caches them; :func:`warm_up` loads them before the first
visitor). Runs are queued one at a time: the agent already uses every CPU core.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Gradio reports usage to its developers unless told not to; a local tool should not.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from restora.errors import RestoraError
from restora.web.examples import make_examples
from restora.web.views import (
    TRACE_HEADERS,
    analysis_markdown,
    analysis_scores,
    error_text,
    matched_pair,
    plan_markdown,
    preview,
    quality_markdown,
    read_upload,
    step_line,
    trace_rows,
    write_run_files,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
RESULT_OUTPUTS = 10
"""Outputs of a run: status, slider, analysis words, bars before, bars after, plan, trace,
quality, result download, report download."""

INTRO = """# restora
Language-driven, degradation-aware image restoration. Upload a picture or pick an example,
say what to fix ("remove the noise but keep it dark"; leave it empty to fix what the analyzer
finds), then press **Run**. Nothing leaves this machine."""


class RestoraPage:
    """The callbacks of one page, with the settings they share: the pixel limit, the device of
    the learned models and the folder where runs leave their downloads."""

    def __init__(
        self,
        max_pixels: int | None = None,
        device: str | None = None,
        workdir: str | Path | None = None,
    ) -> None:
        self.max_pixels = max_pixels
        self.device = device
        if workdir is None:
            made = Path(tempfile.mkdtemp(prefix="restora-web-"))
            atexit.register(shutil.rmtree, made, ignore_errors=True)
            workdir = made
        self.workdir = Path(workdir)

    def on_upload(self, path: str | None) -> tuple[Any, str]:
        """Check a new upload at once: its preview, or a message saying what is wrong."""
        if path is None:
            return None, ""
        try:
            image = read_upload(path, self.max_pixels)
        except RestoraError as exc:
            gr.Warning(error_text(exc), title="Cannot use this file")
            return None, f"**Cannot use this file:** {exc}"
        return preview(image.rgb), (
            f"Ready: {image.width}x{image.height} pixels. Type an instruction and press Run."
        )

    def on_run(
        self, path: str | None, instruction: str | None, progress: Any = gr.Progress()
    ) -> Iterator[tuple[Any, ...]]:
        """Run the agent on the upload, streaming a status line per step, then every output."""
        from restora.agent.api import restore

        try:
            image = read_upload(path, self.max_pixels)
        except RestoraError as exc:
            raise gr.Error(error_text(exc), title="Cannot use this file") from None
        assert path is not None  # read_upload refuses None
        skip = tuple(gr.skip() for _ in range(RESULT_OUTPUTS - 1))
        lines = [f"Analysing the {image.width}x{image.height} image..."]
        progress(0.0, desc="analysing")
        yield ("\n\n".join(lines), *skip)

        # The agent runs in a worker thread so that this generator can stream each step as the
        # agent's observer reports it (Gradio shows each yield at once).
        events: queue.Queue[Any] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["result"] = restore(
                    image,
                    instruction or None,
                    device=self.device,
                    observe=lambda record, *_: events.put(record),
                )
            except BaseException as exc:  # handed to the page below
                outcome["error"] = exc
            finally:
                events.put(None)

        worker = threading.Thread(target=work, name="restora-web-run", daemon=True)
        worker.start()
        done = 0
        while (record := events.get()) is not None:
            done += 1
            lines.append(f"Step {done}: {step_line(record)}")
            progress((done, None), desc=step_line(record), unit="steps")
            yield ("\n\n".join(lines), *skip)
        worker.join()
        error = outcome.get("error")
        if isinstance(error, RestoraError):
            raise gr.Error(error_text(error), title="Cannot do this") from None
        if error is not None:
            log.error("restora web: run failed", exc_info=error)
            raise gr.Error(
                f"restora failed on this image ({type(error).__name__}); the server log has "
                "the details"
            ) from None

        result = outcome["result"]
        progress(0.95, desc="quality report")
        files = write_run_files(result, self.workdir, Path(path).stem)
        kept = len(result.trace.kept)
        lines.append(
            f"**Done** in {result.trace.seconds:.1f} s: {kept} of {len(result.trace.steps)} "
            f"steps kept ({result.trace.stopped})."
        )
        scores_after = analysis_scores(result.analysis_after)
        yield (
            "\n\n".join(lines),
            matched_pair(image.rgb, result.rgb),
            analysis_markdown(result.analysis_before, result.analysis_after),
            analysis_scores(result.analysis_before),
            scores_after,
            plan_markdown(result),
            trace_rows(result),
            quality_markdown(result),
            gr.update(value=str(files.image), visible=True),
            gr.update(value=str(files.report), visible=True),
        )


def build_app(
    max_pixels: int | None = None,
    device: str | None = None,
    examples: bool = True,
    workdir: str | Path | None = None,
) -> gr.Blocks:
    """The page as a ``gr.Blocks`` (not launched). ``examples`` adds the bundled examples,
    made from scikit-image pictures at this call (see :mod:`restora.web.examples`)."""
    page = RestoraPage(max_pixels=max_pixels, device=device, workdir=workdir)
    with gr.Blocks(title="restora", analytics_enabled=False) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                upload = gr.File(
                    label="Image (PNG, JPEG, TIFF, BMP or WebP)",
                    file_types=["image"],
                    type="filepath",
                    elem_id="upload",
                )
                shown = gr.Image(
                    label="Input",
                    interactive=False,
                    format="png",
                    height=240,
                    elem_id="input-preview",
                )
                instruction = gr.Textbox(
                    label="Instruction",
                    placeholder="e.g. remove the noise but keep it dark (empty: fix what is found)",
                    elem_id="instruction",
                )
                run = gr.Button("Run", variant="primary", elem_id="run")
                status = gr.Markdown(elem_id="status")
                if examples:
                    made = make_examples()
                    gr.Examples(
                        examples=[[str(path), example.instruction] for path, example in made],
                        inputs=[upload, instruction],
                        example_labels=[example.name for _, example in made],
                        label="Examples (scikit-image pictures degraded by restora)",
                    )
            with gr.Column(scale=3, min_width=420):
                slider = gr.ImageSlider(
                    label="Before / after (drag the handle)",
                    format="png",
                    interactive=False,
                    elem_id="comparison",
                )
                with gr.Row():
                    download_image = gr.DownloadButton(
                        "Download result (PNG)", visible=False, elem_id="download-image"
                    )
                    download_report = gr.DownloadButton(
                        "Download report (HTML)", visible=False, elem_id="download-report"
                    )
                gr.Markdown("### Analysis")
                words = gr.Markdown(elem_id="analysis")
                with gr.Row():
                    bars_before = gr.Label(
                        label="Degradations before (probability)",
                        num_top_classes=8,
                        show_heading=False,
                        elem_id="bars-before",
                    )
                    bars_after = gr.Label(
                        label="Degradations after (probability)",
                        num_top_classes=8,
                        show_heading=False,
                        elem_id="bars-after",
                    )
                gr.Markdown("### Plan and trace")
                plan = gr.Markdown(elem_id="plan")
                trace = gr.Dataframe(
                    headers=TRACE_HEADERS,
                    interactive=False,
                    wrap=True,
                    column_widths=["5%", "12%", "14%", "12%", "17%", "10%", "30%"],
                    elem_id="trace",
                )
                gr.Markdown("### Quality")
                quality = gr.Markdown(elem_id="quality")

        upload.change(page.on_upload, inputs=upload, outputs=[shown, status])
        outputs = [
            status,
            slider,
            words,
            bars_before,
            bars_after,
            plan,
            trace,
            quality,
            download_image,
            download_report,
        ]
        assert len(outputs) == RESULT_OUTPUTS
        gr.on(
            [run.click, instruction.submit],
            page.on_run,
            inputs=[upload, instruction],
            outputs=outputs,
            concurrency_limit=1,
        )
    return app


def warm_up(device: str | None = None) -> None:
    """Load the analyzer, the instruction parser and the quality model once, before the first
    visitor (each is cached for the life of the process)."""
    import numpy as np

    from restora.language import parse
    from restora.perception import get_analyzer
    from restora.quality import assess_nr

    get_analyzer(None, device)
    parse("remove the noise")
    assess_nr(np.full((64, 64, 3), 0.5, dtype=np.float32))


def launch(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    share: bool = False,
    max_pixels: int | None = None,
    device: str | None = None,
    block: bool = True,
    examples: bool = True,
) -> gr.Blocks:
    """Build, warm up and serve the page on ``host:port`` (127.0.0.1 by default: only this
    machine sees it; ``share`` asks Gradio for a public link). With ``block=False`` the server
    runs in a background thread and the app is returned (call ``.close()`` to stop it)."""
    warm_up(device)
    app = build_app(max_pixels=max_pixels, device=device, examples=examples)
    app.queue(default_concurrency_limit=1)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            share=share,
            prevent_thread_lock=not block,
            show_error=False,
            ssr_mode=False,
            quiet=not block,
        )
    except OSError as exc:  # Gradio's "Cannot find empty port", or the address is not ours
        raise RestoraError(
            f"cannot serve on {host}:{port} (is another server using the port? choose another "
            "with --port)"
        ) from exc
    return app
