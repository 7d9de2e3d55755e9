"""The Gradio page of ``restora serve``, built on the Python API only.

Upload an image (or pick a bundled example), type an instruction, press Run: the page streams
the agent's steps while it works, then shows a before/after slider, the analysis in words and
bars (before and after), the plan and every step of the trace, the quality report
(``restora.quality.assess_nr`` and the analyzer's quality head) and downloads of the result
(PNG) and of the agent's self-contained HTML report.

User errors (no file, not an image, over the pixel limit, an instruction restora cannot do or
one that is too long) are shown in the page as one sentence (``gr.Error``, or a validation
message before the run is queued); anything else is logged on the server and the page says that
it failed, never with a traceback. Models are loaded once per process
(``restora.perception.get_analyzer`` caches them; :func:`warm_up` loads them before the first
visitor). Runs go one at a time through a bounded queue; when it is full the page says that the
server is busy.

What the page stores (docs/web.md, "What the web app stores"): Gradio keeps uploads in its
upload folder; every preview, result and report of a session is written to
``<work folder>/<session>/``, the work folder being a ``restora-web-*`` folder inside Gradio's
upload folder (so Gradio serves the files without copying them). A session's folder and its
uploads are deleted when the session ends (the browser tab closes), the whole work folder when
the server stops, and Gradio's ``delete_cache`` sweeps anything older than an hour. The upload
route itself is guarded by :mod:`restora.web.uploads` (quotas, a rate per client, images only;
an upload no open page uses is deleted within minutes).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

# Gradio reports usage to its developers unless told not to; a local tool should not.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from gradio.data_classes import FileData, ListFiles
from gradio.utils import get_upload_folder
from gradio_client.utils import is_valid_file
from starlette.middleware import Middleware

from restora.errors import RestoraError
from restora.web.examples import default_examples_dir, make_examples
from restora.web.serving import (
    BUSY_MESSAGE,
    CACHE_MAX_AGE_SECONDS,
    CACHE_SWEEP_SECONDS,
    DEFAULT_MAX_CLIENT_MB,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STORAGE_MB,
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_UPLOADS_PER_MINUTE,
    QUEUE_HEADROOM,
    UPLOAD_SWEEP_SECONDS,
    resolve_max_pixels,
)
from restora.web.uploads import UploadGuard, UploadLedger, UploadLimits
from restora.web.views import (
    TRACE_HEADERS,
    analysis_markdown,
    analysis_scores,
    error_text,
    instruction_problem,
    matched_pair,
    plan_markdown,
    preview,
    quality_markdown,
    read_upload,
    save_preview,
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

RUN_API_NAME = "restore"
"""The run's endpoint (``/gradio_api/call/restore``, ``Client.predict(api_name="/restore")``)."""

ADMISSION_SECONDS = 2.0
"""A run let in by the busy check counts as waiting until it starts, or for this long, even
before Gradio has put it in its queue: a burst of simultaneous requests cannot all pass the
check at once."""

INTRO = """# restora
Language-driven, degradation-aware image restoration. Upload a picture or pick an example,
say what to fix ("remove the noise but keep it dark"; leave it empty to fix what the analyzer
finds), then press **Run**. Nothing leaves this machine; your uploads and results are deleted
when you close the page."""


def _upload_component(**options: Any) -> gr.File:
    """``gr.File(type="filepath")`` whose preprocessing hands the callback the uploaded file's
    path and makes nothing. Gradio's own (6.x) also creates an empty temporary file in its
    upload folder on every event and never deletes it: three per run from the page, left there
    for good. (Replaced on the instance: a subclass of a Gradio component makes Gradio write a
    ``.pyi`` stub next to this module.)"""
    upload = gr.File(type="filepath", **options)

    def preprocess(payload: ListFiles | FileData | None) -> str | None:
        if payload is None:
            return None
        single = payload[0] if isinstance(payload, ListFiles) else payload
        if upload.file_types and not is_valid_file(single.path, upload.file_types):
            raise _page_error(
                "Invalid file type. Please upload a file that is one of these formats: "
                f"{upload.file_types}",
                "Cannot use this file",
            )
        return str(single.path)

    upload.preprocess = preprocess  # type: ignore[method-assign,assignment]
    return upload


def _page_error(message: str, title: str) -> gr.Error:
    """A message for the page, without Gradio's traceback on the server's console: a user's
    mistake is not the server's, and a real failure is already logged with its own."""
    return gr.Error(message, title=title, print_exception=False)


def _session_key(request: Any) -> str:
    """A folder name for the visitor's session: a digest of Gradio's session hash (which the
    browser chooses, so it is never used as a path itself); "local" outside a request."""
    session = getattr(request, "session_hash", None)
    if not session:
        return "local"
    return hashlib.sha256(str(session).encode()).hexdigest()[:16]


class RestoraPage:
    """The callbacks of one page, with what they share: the pixel limit, the device of the
    learned models, the queue bound, the work folder and the files of each open session."""

    def __init__(
        self,
        max_pixels: float | None = None,
        device: str | None = None,
        workdir: str | Path | None = None,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        self.max_pixels = resolve_max_pixels(max_pixels)
        self.device = device
        self.max_queue = max_queue
        self.owns_workdir = workdir is None
        self.started = time.time()
        self.made_upload_folder = False
        if workdir is None:
            # Inside Gradio's upload folder, so that Gradio serves the previews and downloads
            # from here instead of copying each into its cache.
            uploads = Path(get_upload_folder())
            self.made_upload_folder = not uploads.exists()
            uploads.mkdir(parents=True, exist_ok=True)
            workdir = tempfile.mkdtemp(prefix="restora-web-", dir=uploads)
            atexit.register(self.close)
        self.workdir = Path(workdir)
        self.app: gr.Blocks | None = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()  # one agent at a time, whatever Gradio does
        self._uploads: dict[str, set[Path]] = {}
        self._sessions: set[str] = set()
        self._ended: set[str] = set()
        self._admitted: list[float] = []

    # -------------------------------------------------------------------------------- sessions

    def session_dir(self, request: Any = None) -> Path:
        """The folder of the request's session (made on first use)."""
        key = _session_key(request)
        with self._lock:
            self._sessions.add(key)
        folder = self.workdir / key
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _remember_upload(self, request: Any, path: str | None) -> None:
        """Count ``path`` as one of the session's uploads (only in a request: a file handed
        to a callback from Python is the caller's)."""
        if path and request is not None:
            with self._lock:
                self._uploads.setdefault(_session_key(request), set()).add(Path(path))

    def holds_upload(self, path: Path) -> bool:
        """Whether an open session has used this upload (checked it or run on it)."""
        real = os.path.realpath(path)
        with self._lock:
            return any(os.path.realpath(p) == real for s in self._uploads.values() for p in s)

    def _kept_files(self) -> set[Path]:
        """Files Gradio keeps for every visitor (the examples' cached copies)."""
        kept: set[Path] = set()
        for block in getattr(self.app, "blocks", {}).values():
            kept.update(Path(p) for p in getattr(block, "keep_in_cache", ()))
        return kept

    def _delete_upload(self, path: Path) -> None:
        """Delete an uploaded file (and its folder when empty), only inside Gradio's upload
        folder and never an example."""
        root = Path(get_upload_folder()).resolve()
        try:
            resolved = path.resolve()
        except OSError:
            return
        if (
            not resolved.is_relative_to(root)
            or resolved.is_relative_to(self.workdir.resolve())
            or resolved.is_relative_to(default_examples_dir().resolve())
            or path in self._kept_files()
        ):
            return
        resolved.unlink(missing_ok=True)
        if resolved.parent != root:
            with contextlib.suppress(OSError):
                resolved.parent.rmdir()  # only when empty

    def end_session(self, request: Any = None) -> None:
        """Delete what the session left: its uploads (unless another open session uploaded the
        same file) and its folder of previews, results and reports."""
        key = _session_key(request)
        with self._lock:
            mine = self._uploads.pop(key, set())
            others = set().union(*self._uploads.values())
            self._sessions.discard(key)
            self._ended.add(key)
        for path in mine - others:
            self._delete_upload(path)
        shutil.rmtree(self.workdir / key, ignore_errors=True)

    def on_unload(self, request: gr.Request) -> None:
        """Gradio's unload event: the visitor closed or reloaded the page."""
        self.end_session(request)

    def close(self) -> None:
        """Delete every session's uploads and the work folder (at shutdown; idempotent)."""
        with self._lock:
            uploads = set().union(*self._uploads.values())
            sessions = set(self._sessions)
            self._uploads.clear()
            self._sessions.clear()
        for path in uploads:
            self._delete_upload(path)
        for key in sessions:
            shutil.rmtree(self.workdir / key, ignore_errors=True)
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._delete_gradio_files()

    def _delete_gradio_files(self) -> None:
        """Everything Gradio stored for this app (uploads no page used included), then the
        folders of the upload folder left empty during this server's life, and the upload
        folder itself when this server made it. Gradio deletes the files too, but after this
        runs, leaving their folders."""
        for stored in getattr(self.app, "temp_file_sets", ()):
            for name in list(stored):
                self._delete_upload(Path(name))
        root = Path(get_upload_folder())
        with contextlib.suppress(OSError):
            for entry in os.scandir(root):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False) and (
                        entry.stat(follow_symlinks=False).st_mtime >= self.started - 1
                    ):
                        os.rmdir(entry.path)  # only when empty
            if self.made_upload_folder:
                root.rmdir()

    # ----------------------------------------------------------------------------------- queue

    def _waiting(self) -> int:
        """Events waiting in Gradio's queue (0 before the app is queued)."""
        waiting = getattr(self.app, "_queue", None)
        try:
            return len(waiting) if waiting is not None else 0
        except TypeError:  # another Gradio whose queue has no length: the hard bound remains
            return 0

    def admit(self) -> bool:
        """Whether a new run may join the queue (False: :data:`BUSY_MESSAGE`)."""
        with self._lock:
            now = time.monotonic()
            self._admitted = [t for t in self._admitted if now - t < ADMISSION_SECONDS]
            if self._waiting() + len(self._admitted) >= self.max_queue:
                return False
            self._admitted.append(now)
            return True

    def check_run(
        self, path: str | None, instruction: str | None, request: gr.Request | None = None
    ) -> list[dict[str, Any]]:
        """Gradio's validator of a run, called before it is queued: an instruction that is too
        long, or a full queue, is refused at once with a message on the input. The upload is
        counted as the session's here, so that it goes with the session even when refused."""
        self._remember_upload(request, path)
        ok = gr.validate(True, "")
        problem = instruction_problem(instruction)
        if problem is not None:
            return [ok, gr.validate(False, problem)]
        if not self.admit():
            return [gr.validate(False, BUSY_MESSAGE), ok]
        return [ok, ok]

    # ------------------------------------------------------------------------------- callbacks

    def on_upload(self, path: str | None, request: gr.Request | None = None) -> tuple[Any, str]:
        """Check a new upload at once: its preview, or a message saying what is wrong."""
        if path is None:
            return None, ""
        self._remember_upload(request, path)
        try:
            image = read_upload(path, self.max_pixels)
        except RestoraError as exc:
            gr.Warning(error_text(exc), title="Cannot use this file")
            return None, f"**Cannot use this file:** {exc}"
        target = self.session_dir(request) / f"input-{uuid.uuid4().hex[:12]}.png"
        shown = save_preview(preview(image.rgb), target)
        return str(shown), (
            f"Ready: {image.width}x{image.height} pixels. Type an instruction and press Run."
        )

    def on_run(
        self,
        path: str | None,
        instruction: str | None,
        request: gr.Request | None = None,
        progress: Any = gr.Progress(),
    ) -> Iterator[tuple[Any, ...]]:
        """Run the agent on the upload, streaming a status line per step, then every output."""
        from restora.agent.api import restore

        with self._lock:  # this run has left the queue: it no longer counts as waiting
            if self._admitted:
                self._admitted.pop(0)
        problem = instruction_problem(instruction)
        if problem is not None:
            raise _page_error(error_text(problem), "Cannot use this instruction")
        self._remember_upload(request, path)
        try:
            image = read_upload(path, self.max_pixels)
        except RestoraError as exc:
            raise _page_error(error_text(exc), "Cannot use this file") from None
        assert path is not None  # read_upload refuses None
        asked = instruction if instruction and instruction.strip() else None
        skip = tuple(gr.skip() for _ in range(RESULT_OUTPUTS - 1))
        lines = [f"Analysing the {image.width}x{image.height} image..."]
        progress(0.0, desc="analysing")
        yield ("\n\n".join(lines), *skip)

        # The agent runs in a worker thread so that this generator can stream each step as the
        # agent's observer reports it (Gradio shows each yield at once). The run lock keeps one
        # agent at a time even when a closed page abandons this generator mid-run.
        events: queue.Queue[Any] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                with self._run_lock:
                    outcome["result"] = restore(
                        image,
                        asked,
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
            raise _page_error(error_text(error), "Cannot do this") from None
        if error is not None:
            log.error("restora web: run failed", exc_info=error)
            raise _page_error(
                f"restora failed on this image ({type(error).__name__}); the server log has "
                "the details",
                "Error",
            ) from None

        if _session_key(request) in self._ended:
            return  # the page was closed during the run: nobody to show it to, nothing to keep
        result = outcome["result"]
        progress(0.95, desc="quality report")
        files = write_run_files(result, self.session_dir(request), Path(path).stem)
        before, after = matched_pair(image.rgb, result.rgb)
        pair = (
            str(save_preview(before, files.image.parent / "preview_before.png")),
            str(save_preview(after, files.image.parent / "preview_after.png")),
        )
        kept = len(result.trace.kept)
        lines.append(
            f"**Done** in {result.trace.seconds:.1f} s: {kept} of {len(result.trace.steps)} "
            f"steps kept ({result.trace.stopped})."
        )
        scores_after = analysis_scores(result.analysis_after)
        yield (
            "\n\n".join(lines),
            pair,
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
    max_pixels: float | None = None,
    device: str | None = None,
    examples: bool = True,
    workdir: str | Path | None = None,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> gr.Blocks:
    """The page as a queued ``gr.Blocks`` (not launched). ``examples`` adds the bundled
    examples, made from scikit-image pictures at this call (see :mod:`restora.web.examples`);
    ``max_queue`` runs may wait behind the running one."""
    page = RestoraPage(max_pixels=max_pixels, device=device, workdir=workdir, max_queue=max_queue)
    return _build(page, examples)


def _build(page: RestoraPage, examples: bool) -> gr.Blocks:
    from restora.language.parser import MAX_INSTRUCTION_CHARS

    with gr.Blocks(
        title="restora",
        analytics_enabled=False,
        delete_cache=(CACHE_SWEEP_SECONDS, CACHE_MAX_AGE_SECONDS),
    ) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                upload = _upload_component(
                    label="Image (PNG, JPEG, TIFF, BMP or WebP)",
                    file_types=["image"],
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
                    max_length=MAX_INSTRUCTION_CHARS,
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

        upload.change(
            page.on_upload, inputs=upload, outputs=[shown, status], api_name="check_upload"
        )
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
            api_name=RUN_API_NAME,
            validator=page.check_run,
            concurrency_limit=1,
            concurrency_id="restora-run",
        )
        app.unload(page.on_unload)
    # Gradio's own bound: behind the page's busy check, and for the upload checks.
    app.queue(max_size=page.max_queue + QUEUE_HEADROOM, default_concurrency_limit=1)
    page.app = app
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


def _cleanup_at_shutdown(
    page: RestoraPage, ledger: UploadLedger | None = None
) -> Callable[[Any], Any]:
    """A lifespan for Gradio's FastAPI app: while it serves, the ``ledger``'s sweep deletes
    uploads no open page uses; the page's files go when the server stops."""

    async def sweep_uploads(ledger: UploadLedger) -> None:
        while True:
            await asyncio.sleep(UPLOAD_SWEEP_SECONDS)
            try:
                await asyncio.to_thread(ledger.sweep)
            except Exception:  # a sweep that fails is tried again, never stops the server
                log.exception("restora web: the upload sweep failed")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep_uploads(ledger)) if ledger is not None else None
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            page.close()

    return lifespan


def launch(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    share: bool = False,
    max_pixels: float | None = None,
    device: str | None = None,
    block: bool = True,
    examples: bool = True,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    max_queue: int = DEFAULT_MAX_QUEUE,
    auth: Sequence[tuple[str, str]] | None = None,
    max_storage_mb: float = DEFAULT_MAX_STORAGE_MB,
    max_client_mb: float = DEFAULT_MAX_CLIENT_MB,
    uploads_per_minute: int = DEFAULT_UPLOADS_PER_MINUTE,
) -> gr.Blocks:
    """Build, warm up and serve the page on ``host:port`` (127.0.0.1 by default: only this
    machine sees it; ``share`` asks Gradio for a public link). ``auth`` is a list of (user,
    password) pairs the page asks for; ``max_upload_mb`` the largest upload; ``max_storage_mb``
    the uploads held at once by everyone, ``max_client_mb`` by one client address, which may
    make ``uploads_per_minute`` upload requests a minute (:mod:`restora.web.uploads`);
    ``max_queue`` the runs that may wait. With ``block=False`` the server runs in a background thread and the app
    is returned (``.close()`` stops it and deletes its files); blocking, Ctrl-C (or SIGTERM
    through ``restora serve``) stops it the same way."""
    warm_up(device)
    page = RestoraPage(max_pixels=max_pixels, device=device, max_queue=max_queue)
    app = _build(page, examples)
    ledger = UploadLedger(
        UploadLimits.from_megabytes(max_storage_mb, max_client_mb, uploads_per_minute),
        get_upload_folder(),
        in_use=page.holds_upload,
        delete=page._delete_upload,
    )
    try:
        app.launch(
            server_name=host,
            server_port=port,
            share=share,
            auth=list(auth) if auth else None,
            max_file_size=int(max_upload_mb * 1024 * 1024),
            prevent_thread_lock=True,
            show_error=False,
            ssr_mode=False,
            quiet=not block,
            run_history=False,  # nothing of a run is kept in the browser either
            app_kwargs={
                "lifespan": _cleanup_at_shutdown(page, ledger),
                "middleware": [Middleware(UploadGuard, ledger=ledger)],
            },
        )
    except OSError as exc:  # Gradio's "Cannot find empty port", or the address is not ours
        page.close()
        raise RestoraError(
            f"cannot serve on {host}:{port} (is another server using the port? choose another "
            "with --port)"
        ) from exc
    if block:
        try:
            while app.is_running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            log.info("restora web: stopping")
        finally:
            app.close(verbose=False)
            page.close()
    return app
