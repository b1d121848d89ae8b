"""``tracker`` command line: run a tracker on a video, evaluate on OTB, score result folders.

    tracker run   --weights W --source SRC [--init x,y,w,h] [--out boxes.txt] [--render out.mp4|out.gif]
    tracker eval  --benchmark otb --root PATH --weights W [--model NAME] [--sequences S ...] --out DIR [--drift S|all]
    tracker eval  --benchmark vot --root VOT2017_ROOT --weights W --out DIR   (supervised: EAO, A, R)
    tracker eval  --benchmark got10k|got10k-test --root GOT-10k --weights W --out DIR
    tracker score --results DIR [DIR ...] --root PATH|OTB2015.json [--json FILE] [--plot-dir D [--attributes]]
    tracker drift --results DIR [DIR ...] --root PATH|OTB2015.json --sequences S,...|all --out DIR [--json FILE]
    tracker tune  --weights W --root PATH [--layout davis] --grid window_influence=0.2,0.4 ... --out best.toml
    tracker export --weights W --onnx DIR   (then: run/eval --backend onnxruntime --weights DIR)

Weights: a safetensors file (model named by its metadata, or ``--model``) or a trainer run folder
(``<run>/export/model.safetensors``, else ``<run>/model.safetensors``). Tracking hyper-parameters:
``--params pipelines/track/<model>.toml`` (defaults: the same published values). With ``--backend
onnxruntime``, ``--weights`` is a folder written by ``tracker export --onnx`` (needs onnxruntime).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from siamcore.exits import EXIT_FAILED, EXIT_USAGE, fail
from siamcore.progress import PlainProgress, console_width, is_terminal

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])
console = Console(stderr=True, width=console_width(sys.stderr))

WeightsOpt = Annotated[Path, typer.Option("--weights", "-w", help="Weights file (.safetensors) or trainer run folder.")]
ModelOpt = Annotated[
    str | None, typer.Option(help="Model name when the weights file does not say (siamfc, siamrpn, ...).")
]
ParamsOpt = Annotated[Path | None, typer.Option(
    help="Tracking hyper-parameters TOML (default: those recorded in the weights by the trainer, else "
         "pipelines/track/<model>.toml).")]
DeviceOpt = Annotated[str, typer.Option(help="torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1.")]
ThreadsOpt = Annotated[int, typer.Option(
    help="CPU threads for the network (0 = the CPUs this process may use: its affinity mask and cgroup quota, "
         "not the machine's count).")]
BACKENDS = ("torch", "onnxruntime")
BackendOpt = Annotated[str, typer.Option(
    help="Network backend: torch, or onnxruntime (CPU; --weights is then a folder written by "
         "'tracker export --onnx DIR'; --threads sets its intra-op threads; needs 'pip install onnxruntime' "
         "or the extra siamtrack-tracker\\[onnx]).")]
SequencesOpt = Annotated[list[str] | None, typer.Option(help="Only these sequences (repeat or comma-separate).")]
InvalidGtOpt = Annotated[str, typer.Option(
    help="Invalid ground-truth rows (w or h <= 0): 'otb' (the toolkit: a failure for success, a hit for "
         "precision), 'exclude', or 'lasot' (pytracking's LaSOT rule: absent frames are failures; the "
         "default for --benchmark lasot).")]


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    fail(console, message, code)


def _check_output_file(path: Path | None, flag: str) -> None:
    """Refuse, before any work, an output file that is a folder or cannot be written: a run that tracks
    every frame and then fails to save the boxes loses them."""
    if path is None:
        return
    if path.exists() and not path.is_file():
        _fail(f"{flag} {path} is a folder (or not a regular file); give a file name, e.g. {path / 'boxes.txt'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        _fail(f"{flag} {path} cannot be written here (no permission in {folder}); choose another place")


def _setup_torch(threads: int, device: str) -> None:
    import torch

    from siamcore.cpus import usable_cpus

    torch.set_num_threads(threads if threads > 0 else usable_cpus())
    if device.startswith("cuda") and not torch.cuda.is_available():
        _fail(f"--device {device} asked for but CUDA is not available; use --device cpu")


def _parse_box(text: str):
    """``--init`` as 4 floats. Refused with the text as typed and what is wrong with it: a NaN would
    otherwise reach the tracker and fail there, showing a box the user never typed."""
    import numpy as np

    try:
        values = np.asarray([float(v) for v in text.replace(" ", "").split(",")])
    except ValueError:
        values = np.zeros(0)
    if len(values) != 4:
        problem = "expected 4 numbers x,y,w,h (0-based pixels)"
    elif not np.isfinite(values).all():
        problem = "a value is not finite (nan or inf)"
    elif values[2] <= 0 or values[3] <= 0:
        problem = "the size w,h must be positive"
    else:
        return values
    _fail(f"--init {text!r}: {problem}")


def _progress(unit: str) -> Progress | _PlainBar:
    """A rich bar on a terminal; in a log (stderr redirected) plain lines at a steady interval instead,
    since a bar written to a file shows nothing until it ends."""
    if not is_terminal(console.file):
        return _PlainBar(unit)
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[fps]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )


def _frame_counter(progress, task):
    """``on_frame`` for a tracking run: advances ``task`` by one frame and shows the frames per second so far."""
    start, done = time.perf_counter(), [0]

    def on_frame() -> None:
        done[0] += 1
        progress.update(task, advance=1, fps=f"{done[0] / (time.perf_counter() - start):.1f} fps")

    return on_frame


class _PlainBar:
    """The part of rich's Progress that the commands use (one task), printed as :class:`PlainProgress` lines."""

    def __init__(self, unit: str):
        self.unit = unit
        self.console = console
        self.plain: PlainProgress | None = None

    def __enter__(self) -> _PlainBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.plain is not None:
            self.plain.finish()

    def add_task(self, description: str, total: int | None = None, fps: str = "") -> int:
        self.plain = PlainProgress(Text.from_markup(description).plain, total, self.unit, self.console.file)
        return 0

    def update(self, task: int, advance: int = 0, fps: str | None = None) -> None:
        self.plain.update(advance=advance, extra=fps)


def _load_tracker(weights: Path, model: str | None, params: Path | None, device: str, backend: str = "torch",
                  threads: int = 0):
    import torch

    from .online import ParamsError, load_tracker

    if backend not in BACKENDS:
        _fail(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "onnxruntime":
        return _load_onnx_tracker(weights, model, params, device, threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return load_tracker(weights, model_name=model, params_path=params, device=device)
    except KeyError as e:  # unknown model name; str() of a KeyError would add quotes
        _fail(f"{e.args[0]} (--model)")
    except (FileNotFoundError, ValueError, ParamsError) as e:
        _fail(str(e))


def _load_onnx_tracker(folder: Path, model: str | None, params: Path | None, device: str, threads: int):
    """``--backend onnxruntime``: the tracker of an ONNX export folder (CPU only)."""
    from .online import ParamsError
    from .onnx_runtime import load_onnx_tracker

    if device not in ("auto", "cpu"):
        _fail(f"--backend onnxruntime runs on the CPU; drop --device {device} or use --backend torch")
    try:
        tracker = load_onnx_tracker(folder, params_path=params, threads=threads)
    except (ImportError, FileNotFoundError, ValueError, ParamsError) as e:
        _fail(str(e))
    if model is not None and tracker.name != model:
        _fail(f"{folder} holds an export of {tracker.name!r}, not of --model {model!r}")
    return tracker


@app.command()
def run(
    weights: WeightsOpt,
    source: Annotated[Path, typer.Option(
        help="Video file, folder of frames, OTB/VOT sequence folder, or a camera number (0: the first webcam; "
             "Ctrl-C stops it and keeps what was tracked).")],
    init: Annotated[str | None, typer.Option(
        help="First-frame box x,y,w,h in 0-based pixels (default: the OTB/VOT ground truth's first box).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the boxes here (OTB format: x,y,w,h per line, 1-based).")] = None,
    render: Annotated[Path | None, typer.Option(
        help="Render the boxes, the tracker's confidence and a legend into a video: .mp4 (H.264, plays in "
             "browsers), .avi (MJPEG) or .gif (360 px wide; frames skipped only to stay under 3 MB).")] = None,
    show_gt: Annotated[bool, typer.Option(help="Also draw the ground truth (green) when the source has it.")] = False,
    target: Annotated[int, typer.Option(help="Target number in two-target OTB folders (Jogging, Skating2).")] = 1,
    select: Annotated[bool, typer.Option(
        help="Draw the first box with the mouse on the first frame (needs a display and OpenCV with a GUI).")] = False,
    max_frames: Annotated[int, typer.Option(help="Stop after this many frames (0: all).", min=0)] = 0,
    model: ModelOpt = None,
    params: ParamsOpt = None,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = 0,
    backend: BackendOpt = "torch",
) -> None:
    """Track one target through a video and write its boxes and/or a rendered video."""
    import numpy as np

    from .datasets import FrameError, numbered_frames, open_source, write_results
    from .interactive import gui_problem, select_box_xywh
    from .render import VideoSink, annotate

    if select and init:
        _fail("give the first box either with --init or with --select, not both")
    _check_output_file(out, "--out")
    _check_output_file(render, "--render")
    if select and (problem := gui_problem()):
        _fail(f"--select needs a window to draw the box in, but {problem}. Give the box with --init x,y,w,h")
    _setup_torch(threads, device)
    try:
        src = open_source(source, otb_target=target)
    except ValueError as e:
        _fail(str(e))
    box0 = _parse_box(init) if init else src.init_box_xywh
    if box0 is None and not select:
        _fail(f"{source} has no ground truth: give the first box with --init x,y,w,h or draw it with --select")
    try:
        sink = VideoSink(render, fps=src.fps) if render else None
    except ValueError as e:
        _fail(str(e))
    tracker = _load_tracker(weights, model, params, device, backend, threads)
    gt = src.sequence.gt_xywh if (show_gt and src.sequence is not None) else None
    boxes, track_s, start = [], 0.0, time.perf_counter()
    total = min(len(src) or max_frames, max_frames) if max_frames else len(src) or None
    failure, stopped, current = None, False, 0  # failure: the error that ended the run early, naming its frame
    try:
        with _progress("frames") as progress:
            task = progress.add_task(f"{tracker.name} on {escape(source.name)}", total=total, fps="")
            for i, frame in numbered_frames(src.frames()):
                if max_frames and i >= max_frames:
                    break
                current = i + 1
                if i == 0 and select:
                    box0 = select_box_xywh(frame)
                t0 = time.perf_counter()
                if i == 0:
                    tracker.init(frame, box0)
                    box, score = np.asarray(box0, dtype=np.float64), 1.0
                else:
                    box, score = tracker.track(frame)
                track_s += time.perf_counter() - t0
                boxes.append(box)
                if sink is not None:
                    gt_box = None if gt is None else gt[i] if i < len(gt) else np.full(4, np.nan)
                    sink.write(annotate(frame, box, score, gt_box, max_width_px=sink.max_width_px))
                progress.update(task, advance=1, fps=f"{len(boxes) / track_s:.1f} fps")
    except KeyboardInterrupt:  # how a camera run ends: keep what was tracked
        stopped = True
        console.print(f"stopped after {len(boxes)} frames (Ctrl-C)")
    except FrameError as e:  # an unreadable frame mid-video: keep the boxes tracked before it
        failure = str(e)
    except (ValueError, RuntimeError) as e:  # the tracker or the renderer failed on this frame
        failure = f"frame {current}: {e}"
    if not boxes:
        if sink is not None:
            sink.abort()
        _fail(failure or f"{source}: no frames could be read", EXIT_FAILED)
    total_s = time.perf_counter() - start
    if out:
        write_results(out, np.asarray(boxes))
    if sink is not None:
        try:
            sink.close()
        except (ValueError, RuntimeError):  # the renderer's own failure ended the run: nothing to keep
            if failure is None:
                raise
            sink.abort()
    if failure is not None:
        written = " and ".join(str(p) for p in (out, render) if p)
        kept = f"; the {len(boxes)} frames tracked before it are in {written}" if written else ""
        _fail(f"{source}: {failure}{kept}", EXIT_FAILED)
    if not stopped and not (max_frames and len(boxes) >= max_frames) and (short := src.shortfall(len(boxes))):
        console.print(f"warning: {short}; {len(boxes)} frames tracked", style="yellow", markup=False)
    console.print(
        f"[green]done[/]: {len(boxes)} frames, tracker {len(boxes) / track_s:.1f} fps, "
        f"{len(boxes) / total_s:.1f} fps with decode{' and render' if sink else ''}"
        + (f"; boxes -> {escape(str(out))}" if out else "") + (f"; video -> {escape(str(render))}" if render else "")
        + (f" (1 frame in {sink.frame_step}, to stay small)" if sink is not None and sink.frame_step > 1 else "")
    )


def _split_names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [n for v in values for n in v.split(",") if n.strip()]


OPE_BENCHMARKS = ("otb", "lasot", "uav123", "trackingnet", "tlp", "davis")
"""Benchmarks run one-pass (OPE) through :func:`siamcore.datasets.load_sequences`; vot and got10k have
their own protocols (``eval``)."""


def _load_benchmark(benchmark: str, root: Path, sequences: list[str] | None):
    from siamcore.datasets import load_sequences

    layout = "otb" if benchmark.lower() in ("otb", "otb2015", "otb100", "otb2013") else benchmark.lower()
    if layout not in OPE_BENCHMARKS:
        _fail(f"--benchmark {benchmark!r} is not supported (one-pass: {', '.join(OPE_BENCHMARKS)}; "
              "also vot, got10k, got10k-test for eval)")
    try:
        return load_sequences(layout, root, _split_names(sequences))
    except ValueError as e:
        _fail(str(e))


def _has_full_ground_truth(seqs) -> bool:
    """TrackingNet's test split ships the first box only: nothing to score, a server zip instead."""
    import numpy as np

    return all(s.gt_xywh is not None and np.isfinite(s.gt_xywh[1:]).any() for s in seqs if len(s) > 1)


def _trackingnet_submission(report, out: Path, tracker_name: str) -> None:
    """``eval --benchmark trackingnet`` on the test split: the zip its evaluation server takes."""
    from .datasets import read_results
    from .datasets.submission import write_trackingnet_submission

    boxes = {p.stem: read_results(p) for p in sorted(report.tracker_dir.glob("*.txt"))}
    try:
        zip_path = write_trackingnet_submission(boxes, out / f"{tracker_name}.zip")
    except ValueError as e:
        _fail(str(e), EXIT_FAILED)
    console.print(f"TrackingNet test: no ground truth beyond frame 1 to score; {len(boxes)} sequence(s) -> "
                  f"{zip_path} (upload it to the evaluation server)", markup=False)
    if report.skipped:
        _fail(f"{len(report.skipped)} sequence(s) could not be tracked: the zip lacks them", EXIT_FAILED)


def _load_score_ground_truth(benchmark: str, root: Path, sequences: list[str] | None):
    """``score``'s ground truth: a benchmark root, or an ``OTB2015.json`` file (all 100 targets' gt and
    frame ranges, no images needed)."""
    if root.suffix.lower() != ".json":
        return _load_benchmark(benchmark, root, sequences)
    from siamcore.datasets.otb import load_otb_json

    try:
        return load_otb_json(root, _split_names(sequences))
    except ValueError as e:
        _fail(str(e))


def _print_table(folder_scores, per_sequence: bool) -> None:
    """Tracker and sequence names come from folder and file names, so they are escaped (rich markup)."""
    table = Table(title="OPE scores")
    for col in ("tracker", "AUC", "P@20px", "norm P@0.2", "sequences", "frames"):
        table.add_column(col, justify="left" if col == "tracker" else "right")
    for fs in sorted(folder_scores, key=lambda f: -f.scores()["auc"] if f.curves else 1):
        if not fs.curves:
            continue
        s = fs.scores()
        frames = sum(v["frames"] for v in s["sequences"].values())
        table.add_row(escape(fs.name), f"{s['auc']:.3f}", f"{s['precision']:.3f}", f"{s['norm_precision']:.3f}",
                      str(len(s["sequences"])), str(frames))
    console.print(table)
    if per_sequence:
        for fs in folder_scores:
            t = Table(title=f"{escape(fs.name)}: per sequence")
            for col in ("sequence", "AUC", "P@20px", "norm P@0.2", "frames"):
                t.add_column(col, justify="left" if col == "sequence" else "right")
            for name, c in fs.curves.items():
                t.add_row(escape(name), f"{c.auc:.3f}", f"{c.precision_at_20:.3f}", f"{c.norm_precision_at_02:.3f}",
                          str(c.frames))
            console.print(t)
    for fs in folder_scores:
        if fs.missing:
            missing = ", ".join(fs.missing)
            console.print(f"{fs.name}: no results for {len(fs.missing)} sequence(s): {missing}", style="yellow",
                          markup=False)
        for w in fs.warnings:
            console.print(f"{fs.name}: {w}", style="yellow", markup=False)


def _pick_drift_sequences(names: list[str], seqs):
    """``eval --drift``'s sequences among those evaluated; an unknown name is refused before any work."""
    from .drift import pick_sequences

    try:
        return pick_sequences(seqs, names)
    except ValueError as e:
        _fail(f"--drift: {e}")


def _write_drift(trackers, csv_dirs: dict, png_dir: Path, json_path: Path | None = None) -> None:
    """Write the drift CSVs, pictures (and JSON) of ``trackers`` (:mod:`tracker.drift`) and print the table."""
    from .drift import write_drift, write_drift_json
    from .metrics import SIZE_BAND

    pictures = write_drift(trackers, csv_dirs, png_dir)
    lo, hi = SIZE_BAND
    table = Table(title=f"Size drift: size ratio pred/gt (sqrt of the area ratio) in [{lo:g}, {hi:g}]")
    for col in ("tracker", "sequence", "in band", "below", "above", "median ratio", "geo-mean ratio", "frames"):
        table.add_column(col, justify="left" if col in ("tracker", "sequence") else "right")
    for t in trackers:
        for seq_name, d in t.per_sequence.items():
            s = d.summary()
            table.add_row(escape(t.name), escape(seq_name), *(_fmt(v) for v in (
                s.in_band, s.below, s.above, s.median_ratio, s.geomean_ratio)), str(s.frames))
    console.print(table)
    for t in trackers:
        if t.missing:
            console.print(f"{t.name}: no results for {len(t.missing)} sequence(s): {', '.join(t.missing)}",
                          style="yellow", markup=False)
        for w in t.warnings:
            console.print(f"{t.name}: {w}", style="yellow", markup=False)
    if json_path is not None:
        write_drift_json(json_path, trackers)
    csv_where = ", ".join(str(d) for d in dict.fromkeys(map(str, csv_dirs.values())))
    console.print(f"drift: {len(pictures)} picture(s) -> {png_dir}, per-frame CSV -> {csv_where}"
                  + (f", numbers -> {json_path}" if json_path else ""), markup=False)


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"  # NaN: no frame to measure


def _eval_vot(root: Path, out: Path, names: list[str] | None, tracker_name: str | None, tracker) -> None:
    """``eval --benchmark vot``: the reset-based supervised experiment (:mod:`tracker.vot_protocol`)."""
    from .vot_protocol import run_vot, vot_tables

    tracker_name = tracker_name or tracker.name
    with _progress("frames") as progress:
        task = progress.add_task(f"{escape(tracker_name)} VOT supervised", total=None, fps="")
        on_frame = _frame_counter(progress, task)

        def on_sequence(seq_name, seq_run) -> None:
            progress.console.print(f"  {seq_name}: {len(seq_run.kinds)} frames, {seq_run.failures} failures",
                                   markup=False)

        try:
            report = run_vot(tracker, root, out, tracker_name, names, on_frame=on_frame, on_sequence=on_sequence)
        except ValueError as e:  # unusable root or unknown sequence name
            _fail(str(e))
    for seq_name, reason in report.skipped.items():
        console.print(f"skipped {seq_name}: {reason}", style="yellow", markup=False)
    if not report.per_sequence:
        _fail("no sequence could be tracked; see the skipped reasons above", EXIT_FAILED)
    for table in vot_tables(report, tracker_name):
        console.print(table)
    console.print(f"results -> {report.tracker_dir / 'baseline'}, scores -> {report.tracker_dir / 'vot_scores.json'}",
                  markup=False)
    if report.skipped:
        _fail(f"{len(report.skipped)} sequence(s) could not be tracked: {', '.join(report.skipped)}", EXIT_FAILED)


def _eval_got10k(benchmark: str, root: Path, out: Path, names: list[str] | None, tracker_name: str | None,
                 tracker) -> None:
    """``eval --benchmark got10k`` (val, scored) or ``got10k-test`` (server zip); a split folder as
    ``--root`` decides the split itself (:mod:`tracker.got10k_protocol`)."""
    from siamcore.datasets.got10k import LIST_FILE, load_got10k

    from .got10k_protocol import run_got10k

    is_split_folder = (root / LIST_FILE).is_file()
    split = root.name.lower() if is_split_folder else "test" if benchmark.lower().endswith("test") else "val"
    tracker_name = tracker_name or tracker.name
    try:
        seqs = load_got10k(root, names, None if is_split_folder else split)
        if split not in ("val", "test"):
            raise ValueError(f"{root}: GOT-10k evaluation runs on the val or test split, not {split!r}")
    except ValueError as e:
        _fail(str(e))
    with _progress("frames") as progress:
        task = progress.add_task(f"{escape(tracker_name)} GOT-10k {split}", total=sum(len(s) for s in seqs), fps="")
        on_frame = _frame_counter(progress, task)

        def on_sequence(seq_name, seq_run) -> None:
            progress.console.print(f"  {seq_name}: {len(seq_run.boxes_xywh)} frames, {seq_run.track_fps:.1f} fps",
                                   markup=False)

        report = run_got10k(tracker, seqs, out, tracker_name, split, on_frame=on_frame, on_sequence=on_sequence)
    for seq_name, reason in report.skipped.items():
        console.print(f"skipped {seq_name}: {reason}", style="yellow", markup=False)
    if not report.runs:
        _fail("no sequence could be tracked; see the skipped reasons above", EXIT_FAILED)
    if report.overall is not None:
        table = Table(title=f"GOT-10k {split} (toolkit protocol: frames pooled)")
        for col in ("tracker", "AO", "SR@0.5", "SR@0.75", "sequences", "frames"):
            table.add_column(col, justify="left" if col == "tracker" else "right")
        s = report.overall
        table.add_row(escape(tracker_name), f"{s.ao:.3f}", f"{s.sr50:.3f}", f"{s.sr75:.3f}",
                      str(len(report.per_sequence)), str(s.frames))
        console.print(table)
        console.print(f"results -> {report.tracker_dir}, scores -> {report.tracker_dir / 'got10k_scores.json'}",
                      markup=False)
    else:
        console.print(f"results -> {report.tracker_dir}, server submission -> {report.submission}", markup=False)
    if report.skipped:
        _fail(f"{len(report.skipped)} sequence(s) could not be tracked: {', '.join(report.skipped)}", EXIT_FAILED)


EVAL_HELP = (
    "One-pass evaluation, then scores and plots.\n\n"
    "Protocol: the tracker starts from frame 1's ground truth (frame 1 is counted); IoU on continuous x,y,w,h; "
    "success = IoU > t at t = 0, 0.05, ..., 1, AUC = their mean; precision = centre error <= 20 px; normalised "
    "precision = centre error / ground-truth size <= 0.2; sequences weigh equally. Invalid ground-truth rows "
    "(w or h <= 0, target out of view): see --invalid-gt.\n\n"
    "OTB layout: <Seq>/img/0001.jpg... and <Seq>/groundtruth_rect.txt (comma, tab or space separated, 1-based). "
    "Two-target folders (Jogging, Skating2: groundtruth_rect.1.txt, .2.txt) give the sequences Jogging.1 and "
    "Jogging.2. OTB2015.json beside the folders decides each sequence's frames (David 300-770, Tiger1 from 6, "
    "BlurCar1 247-988, ...); without it the known ranges are built in, and a sequence with more images than "
    "ground-truth rows (Football1) uses its first images."
)


@app.command("eval", help=EVAL_HELP)
def evaluate(
    root: Annotated[Path, typer.Option(
        help="Benchmark root: OTB sequence folders (and OTB2015.json for frame ranges).")],
    weights: WeightsOpt,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: <out>/<tracker>/<seq>.txt, <out>/scores.json, plots.")],
    benchmark: Annotated[str, typer.Option(
        help="Benchmark: otb, lasot, uav123, tlp, davis (one-pass; lasot scores absent frames as LaSOT's "
             "toolkit does), trackingnet (one-pass; its test split -> <out>/<tracker>.zip for the server), or vot (VOT2017/2018 supervised experiment with re-starts: EAO, "
             "accuracy, failures; <out>/<tracker>/baseline/<seq>/<seq>_001.txt, vot_scores.json), or got10k / "
             "got10k-test (GOT-10k val: AO, SR@0.5, SR@0.75 as its toolkit; test: <out>/<tracker>.zip for the "
             "server; both write <out>/<tracker>/<seq>/<seq>_001.txt and <seq>_time.txt).")] = "otb",
    sequences: SequencesOpt = None,
    name: Annotated[str | None, typer.Option(
        help="Tracker name for the results folder (default: the model name).")] = None,
    resume: Annotated[bool, typer.Option(help="Keep complete result files already in <out>/<tracker>/.")] = False,
    invalid_gt: InvalidGtOpt = "otb",
    per_sequence: Annotated[bool, typer.Option(help="Also print per-sequence scores.")] = True,
    model: ModelOpt = None,
    params: ParamsOpt = None,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = 0,
    backend: BackendOpt = "torch",
    drift: Annotated[list[str] | None, typer.Option(
        help="Also draw the size and centre drift of these evaluated sequences (repeat or comma-separate; "
             "'all'): <out>/<tracker>/drift/<seq>.csv (frame, pred w,h, gt w,h, size_ratio, centre_error_px, "
             "iou) and <seq>.png (size ratio pred/gt on a log axis with the [0.67, 1.5] band, centre error "
             "below). One-pass benchmarks only.", show_default=False)] = None,
    more_sequences: Annotated[list[str] | None, typer.Argument(help="More sequence names (--sequences A B works).",
                                                               show_default=False)] = None,
) -> None:
    """One-pass evaluation (see ``EVAL_HELP``)."""
    if more_sequences:
        sequences = [*(sequences or []), *more_sequences]
    import json

    from .evaluate import run_ope, score_folder, write_scores_json
    from .plots import plot_all

    drift_names = _split_names(drift)
    if drift_names and benchmark.lower() in ("vot", "vot2017", "vot2018", "got10k", "got10k-val", "got10k-test"):
        _fail(f"--drift draws one-pass results; --benchmark {benchmark} has its own protocol (use --benchmark otb, "
              "lasot, uav123, tlp, davis or trackingnet, or 'tracker drift' on a result folder)")
    _setup_torch(threads, device)
    if benchmark.lower() in ("vot", "vot2017", "vot2018"):
        return _eval_vot(root, out, _split_names(sequences), name,
                         _load_tracker(weights, model, params, device, backend, threads))
    if benchmark.lower() in ("got10k", "got10k-val", "got10k-test"):
        return _eval_got10k(benchmark, root, out, _split_names(sequences), name,
                            _load_tracker(weights, model, params, device, backend, threads))
    seqs = _load_benchmark(benchmark, root, sequences)
    drift_seqs = _pick_drift_sequences(drift_names, seqs) if drift_names else []
    if benchmark.lower() == "lasot" and invalid_gt == "otb":
        invalid_gt = "lasot"  # LaSOT's own rule for absent frames (tracker.lasot_metrics)
    tracker = _load_tracker(weights, model, params, device, backend, threads)
    tracker_name = name or tracker.name
    with _progress("frames") as progress:
        task = progress.add_task(f"{escape(tracker_name)} OPE", total=sum(len(s) for s in seqs), fps="")
        on_frame = _frame_counter(progress, task)

        def on_sequence(seq_name, seq_run) -> None:
            if seq_run is None:
                progress.console.print(f"  {seq_name}: kept existing results", markup=False)
                progress.update(task, advance=next(len(s) for s in seqs if s.name == seq_name))
            else:
                n, fps = len(seq_run.boxes_xywh), seq_run.track_fps
                progress.console.print(f"  {seq_name}: {n} frames, {fps:.1f} fps", markup=False)

        report = run_ope(tracker, seqs, out, tracker_name, resume=resume, on_frame=on_frame, on_sequence=on_sequence)
    for seq_name, reason in report.skipped.items():
        console.print(f"skipped {seq_name}: {reason}", style="yellow", markup=False)
    if benchmark.lower() == "trackingnet" and not _has_full_ground_truth(seqs):
        if drift_seqs:
            console.print("--drift: no ground truth beyond the first frame to compare sizes with; nothing drawn",
                          style="yellow", markup=False)
        return _trackingnet_submission(report, out, tracker_name)
    fs = score_folder(report.tracker_dir, seqs, invalid_gt, name=tracker_name)
    if not fs.curves:
        _fail("no sequence could be tracked; see the skipped reasons above", EXIT_FAILED)
    scores_path = out / "scores.json"
    scores = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
    scores[tracker_name] = fs.scores()
    write_scores_json(scores_path, scores)
    plots = plot_all({tracker_name: fs.curves}, out)
    _print_table([fs], per_sequence)
    plot_names = ", ".join(p.name for p in plots)
    console.print(f"results -> {report.tracker_dir}, scores -> {scores_path}, plots -> {plot_names}", markup=False)
    if tracked := [s for s in drift_seqs if s.name not in report.skipped]:
        from .drift import folder_drift

        drifts = [folder_drift(report.tracker_dir, tracked, name=tracker_name)]
        drift_dir = report.tracker_dir / "drift"
        _write_drift(drifts, {tracker_name: drift_dir}, drift_dir)
    if report.skipped:  # the others are written and scored; a script must still see the failure
        _fail(f"{len(report.skipped)} sequence(s) could not be tracked ({', '.join(report.skipped)}: see above); "
              f"the results of the other {len(fs.curves)} are written and scored", EXIT_FAILED)


@app.command()
def score(
    results: Annotated[list[Path], typer.Option(
        help="Result folder(s) of <seq>.txt files, one per tracker (an eval --out folder stands for its tracker "
             "folders).")],
    root: Annotated[Path, typer.Option(
        help="Benchmark root with the ground truth, or an OTB2015.json file (pysot/DaSiamRPN format: gt and "
             "frame ranges of all 100 OTB targets, no images needed).")],
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Write the scores as JSON here (same shape as scores.json).")] = None,
    plot_dir: Annotated[Path | None, typer.Option(help="Write success/precision plots (PNG) here.")] = None,
    benchmark: Annotated[str, typer.Option(help="Benchmark layout (otb).")] = "otb",
    sequences: SequencesOpt = None,
    invalid_gt: InvalidGtOpt = "otb",
    per_sequence: Annotated[bool, typer.Option(help="Also print per-sequence scores.")] = False,
    attributes: Annotated[bool, typer.Option(
        "--attributes", help="Also draw one success plot per sequence attribute (OTB attrs.txt: IV, SV, OCC, "
                             "DEF ...) in --plot-dir.")] = False,
    more_results: Annotated[list[Path] | None, typer.Argument(help="More result folders (--results A B C works).",
                                                              show_default=False)] = None,
) -> None:
    """Score existing result folders of any tracker (OTB format) and draw the plots. Trackers are ranked
    on the sequences all of them have results for; the others are listed as left out. Result file names
    from other toolkits match in any case (Jogging.1, Jogging-1, jogging_1, human4-2, skating2_1); --root
    may be an OTB2015.json file instead of the sequence folders."""
    results = [*results, *(more_results or [])]
    from .evaluate import common_sequences, score_folder, scores_json, write_scores_json
    from .plots import plot_all, plot_attributes

    if attributes and not plot_dir:
        _fail("--attributes draws plots: give --plot-dir too")
    seqs = _load_score_ground_truth(benchmark, root, sequences)
    dirs, names = _result_folders(results)
    try:
        folder_scores = [score_folder(d, seqs, invalid_gt, name=n) for d, n in zip(dirs, names)]
    except ValueError as e:  # two result files for one sequence
        _fail(str(e))
    if not any(fs.curves for fs in folder_scores):
        _fail("no result file matched any sequence; check --root and the result file names (<seq>.txt)")
    try:
        folder_scores, dropped = common_sequences(folder_scores)
    except ValueError as e:
        _fail(str(e))
    _print_table(folder_scores, per_sequence)
    for name, left_out in dropped.items():
        console.print(f"[yellow]{escape(name)}: {len(left_out)} sequence(s) left out, not in every tracker's "
                      f"results: {escape(', '.join(left_out))}[/]")
    if dropped:
        console.print(f"all trackers scored on the {len(folder_scores[0].curves)} sequence(s) they have in common")
    if json_path:
        write_scores_json(json_path, scores_json(folder_scores))
        console.print(f"scores -> {json_path}", markup=False)
    if plot_dir:
        per_tracker = {fs.name: fs.curves for fs in folder_scores}
        plots = plot_all(per_tracker, plot_dir)
        if attributes:
            attribute_plots = plot_attributes(per_tracker, {s.name: s.attributes for s in seqs}, plot_dir)
            if not attribute_plots:
                console.print("[yellow]no attributes known for these sequences (OTB: attrs.txt in each folder)[/]")
            plots += attribute_plots
        console.print(f"plots -> {', '.join(str(p) for p in plots)}", markup=False)


def _result_folders(results: list[Path]) -> tuple[list[Path], list[str]]:
    """``--results`` as tracker folders (an eval --out folder stands for its tracker folders) and their
    names: the folder names, or ``parent/name`` for all when two are alike."""
    from .evaluate import expand_result_dirs

    try:
        dirs = expand_result_dirs(results)
    except ValueError as e:
        _fail(str(e))
    names = [d.name for d in dirs]
    if len(set(names)) != len(names):
        names = [f"{d.parent.name}/{d.name}" for d in dirs]
    return dirs, names


@app.command("drift")
def drift_command(
    results: Annotated[list[Path], typer.Option(
        help="Result folder(s) of <seq>.txt files (OTB format), one per tracker, e.g. published results beside "
             "yours (an eval --out folder stands for its tracker folders).")],
    root: Annotated[Path, typer.Option(
        help="Benchmark root with the ground truth, or an OTB2015.json file (no images needed).")],
    sequences: Annotated[list[str], typer.Option(
        help="Sequences to draw (repeat or comma-separate), or 'all'.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: <out>/<seq>.png (every tracker in one picture) and "
                            "<out>/<tracker>/<seq>.csv.")],
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Write the numbers here: {tracker: {sequence: {in_band, below, above, median_ratio, "
                       "geomean_ratio, frames, measured, band}}}.")] = None,
    benchmark: Annotated[str, typer.Option(
        help="Benchmark layout of --root (otb, lasot, uav123, tlp, davis).")] = "otb",
    more_results: Annotated[list[Path] | None, typer.Argument(help="More result folders (--results A B C works).",
                                                              show_default=False)] = None,
) -> None:
    """Size and centre drift of existing result folders, per frame: for each sequence one picture with
    every tracker (size ratio pred/gt = sqrt(pw*ph)/sqrt(gw*gh) on a log axis with the [0.67, 1.5] band
    shaded and a line at 1; centre error in px below), a CSV per tracker and sequence (frame, pred w,h,
    gt w,h, size_ratio, centre_error_px, iou), and a table of the fraction of frames in the band and the
    median and geometric-mean ratio. Frames without ground truth are left out of the fractions; frames
    without a predicted box count as outside the band."""
    results = [*results, *(more_results or [])]
    from .drift import folder_drift, folder_label

    names = _split_names(sequences) or []
    if not names:
        _fail("--sequences: give sequence names or 'all'")
    seqs = _load_score_ground_truth(benchmark, root, None if any(n.lower() == "all" for n in names) else names)
    dirs, tracker_names = _result_folders(results)
    trackers = [folder_drift(d, seqs, name=n) for d, n in zip(dirs, tracker_names)]
    if not any(t.per_sequence for t in trackers):
        _fail(f"no result file matched any of the sequences ({', '.join(s.name for s in seqs)}); check --root, "
              "--sequences and the result file names (<seq>.txt)")
    _write_drift(trackers, {t.name: out / folder_label(t.name) for t in trackers}, out, json_path)


def _matching_sequences(layout: str, root: Path, names: list[str] | None, several: bool):
    """The sequences of ``root`` named in ``names`` (all when None). With several roots a name need only
    exist in one of them; with one, an unknown name is an error (ValueError) as elsewhere."""
    from siamcore.datasets import load_sequences, normalise_name

    if not several or not names:
        return load_sequences(layout, root, names)
    wanted = {normalise_name(n) for n in names}
    return [s for s in load_sequences(layout, root) if wanted & set(s.match_keys())]


@app.command()
def tune(
    weights: WeightsOpt,
    root: Annotated[list[Path], typer.Option(help="Sequences to tune on: your training or validation data, never the "
                                                  "sequences you report. Repeat for several datasets (with one "
                                                  "--layout each, or one for all).")],
    grid: Annotated[list[str], typer.Option(
        help="KEY=V1,V2,... values to try (repeat for more keys), e.g. --grid window_influence=0.2,0.3,0.4 "
             "--grid penalty_k=0.05,0.1 --grid lr=0.3,0.5. Keys: those of pipelines/track/<model>.toml.")],
    layout: Annotated[list[str] | None, typer.Option(
        help="Layout of each --root: otb, vot, davis or tlp (default otb).")] = None,
    sequences: Annotated[list[str] | None, typer.Option(
        help="Only these sequences (repeat or comma-separate), looked up in every --root.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the best parameters here (a --params TOML file).")] = None,
    model: ModelOpt = None,
    params: Annotated[Path | None, typer.Option(
        help="Start from these parameters (default: those recorded in the weights, else the model's).")] = None,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = 0,
) -> None:
    """Grid-search the tracking hyper-parameters (window influence, change penalty, size lr ...) by OPE
    success AUC on sequences of any layout, and write the best as a params file."""
    from siamcore.atomic import write_bytes_atomic
    from siamcore.datasets import load_sequences

    from .online import ParamsError
    from .tune import param_grid, params_toml, tune as run_tune

    _setup_torch(threads, device)
    values: dict[str, list] = {}
    for item in grid:
        key, sep, raw = item.partition("=")
        if not sep or not raw:
            _fail(f"--grid expects KEY=V1,V2,..., got {item!r}")
        values[key.strip()] = [_toml_value(v) for v in raw.split(",") if v.strip()]
    layouts = layout or ["otb"]
    if len(layouts) not in (1, len(root)):
        _fail(f"give one --layout for all --root folders or one per folder ({len(root)}), got {len(layouts)}")
    wanted = _split_names(sequences)
    seqs = []
    try:
        for folder, kind in zip(root, layouts * len(root) if len(layouts) == 1 else layouts):
            seqs += _matching_sequences(kind, folder, wanted, several=len(root) > 1)
    except ValueError as e:
        _fail(str(e))
    if not seqs:
        _fail(f"no sequence of {', '.join(map(str, root))} matches --sequences {', '.join(wanted or [])}")
    tracker = _load_tracker(weights, model, params, device)
    try:
        points = param_grid(tracker.params, values)
    except ParamsError as e:
        _fail(str(e))
    frames = sum(len(s) for s in seqs)
    where = ", ".join(map(str, root))
    console.print(f"{len(points)} parameter sets x {len(seqs)} sequences ({frames} frames) of {where}", markup=False)
    with _progress("parameter sets") as progress:
        task = progress.add_task("tune", total=len(points), fps="")
        results = run_tune(tracker.model, seqs, points, on_result=lambda r: progress.update(
            task, advance=1, fps=escape(f"AUC {r.auc:.3f} at {', '.join(f'{k}={v}' for k, v in r.changed.items())}")))
    table = Table(title=f"OPE success AUC on {len(seqs)} sequence(s), best first")
    for col in (*values, "AUC", *(s.name for s in seqs)):
        table.add_column(escape(col), justify="right")
    for r in results:
        table.add_row(*(escape(str(r.changed[k])) for k in values), f"{r.auc:.3f}",
                      *(f"{r.per_sequence[s.name]:.3f}" for s in seqs))
    console.print(table)
    if out is not None:
        names = ", ".join(s.name for s in seqs)
        write_bytes_atomic(out, params_toml(results[0].params, f"tracker tune: best of {len(points)} on {where} "
                                                                f"({names}): AUC {results[0].auc:.3f}").encode())
        console.print(f"best parameters -> {out} (use with --params)", markup=False)


@app.command()
def export(
    weights: WeightsOpt,
    onnx: Annotated[Path | None, typer.Option(
        help="Write the ONNX export into this folder: template.onnx (exemplar [+ guide] -> template), detect.onnx "
             "(search [+ guide] + template -> the raw outputs the tracker post-processes), tracker.json (model, "
             "views, tracking parameters, shapes, opset, source weights sha256) and, for the RPN family, "
             "default_boxes.npy. Track with it: run/eval --backend onnxruntime --weights DIR.")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset version.", min=13)] = 17,
    model: ModelOpt = None,
    params: Annotated[Path | None, typer.Option(
        help="Tracking hyper-parameters recorded in tracker.json (default: those recorded in the weights, "
             "else the model's).")] = None,
    threads: ThreadsOpt = 0,
) -> None:
    """Export a model for deployment without torch weights (ONNX, run by onnxruntime). Needs the onnx
    package (pip install 'siamtrack-tracker\\[onnx]')."""
    from .online import ParamsError, resolve_weights_path
    from .online.factory import params_for_weights
    from .weights import load_model

    if onnx is None:
        _fail("nothing to export: give --onnx DIR")
    if onnx.exists() and not onnx.is_dir():
        _fail(f"--onnx {onnx} is a file; the export is a folder (template.onnx, detect.onnx, tracker.json): "
              "give a folder name")
    _setup_torch(threads, "cpu")
    try:
        import onnx as _onnx  # noqa: F401  (onnx.checker validates the graphs)
    except ImportError:
        _fail("tracker export --onnx needs the onnx package: pip install onnx (or 'siamtrack-tracker[onnx]')")
    from .onnx_export import export_onnx

    try:
        path = resolve_weights_path(weights)
        net = load_model(path, model_name=model)
        sidecar = export_onnx(net, onnx, params_for_weights(path, net.name, params), source_weights=path, opset=opset)
    except KeyError as e:
        _fail(f"{e.args[0]} (--model)")
    except (FileNotFoundError, ValueError, ParamsError) as e:
        _fail(str(e))
    console.print(f"[green]done[/]: {escape(net.name)} -> {escape(str(onnx))} (template.onnx, detect.onnx, "
                  f"{escape(sidecar.name)}); track with --backend onnxruntime --weights {escape(str(onnx))}")


def _toml_value(text: str):
    import tomllib

    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
