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

Each command parses its flags, calls one domain function and maps typed errors to exit codes
(:mod:`siamcore.exits`; :class:`~tracker.errors.UsageError` 2, :class:`~tracker.errors.RunFailed` 1): ``run``
-> :func:`tracker.track_video.track_video`, ``eval`` -> :func:`tracker.evaluation.run_benchmark` (the
benchmarks of ``BENCHMARKS``), ``score`` -> :func:`tracker.evaluation.scoring.score_results`, ``drift`` ->
:mod:`tracker.evaluation.drift`, ``tune`` -> :mod:`tracker.tune`, ``export`` ->
:func:`tracker.loading.export_model`. Tables come from :mod:`tracker.evaluation.tables`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from siamcore.exits import EXIT_FAILED, EXIT_USAGE, fail

from .console import Bar, console, show
from .errors import RunFailed, UsageError
from .evaluation import BENCHMARKS

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])

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
BackendOpt = Annotated[str, typer.Option(
    help="Network backend: torch, or onnxruntime (CPU; --weights is then a folder written by "
         "'tracker export --onnx DIR'; --threads sets its intra-op threads; needs 'pip install onnxruntime' "
         "or the extra siamtrack-tracker\\[onnx]).")]
SequencesOpt = Annotated[list[str] | None, typer.Option(help="Only these sequences (repeat or comma-separate).")]
InvalidGtOpt = Annotated[str, typer.Option(
    help="Invalid ground-truth rows (w or h <= 0): 'otb' (the toolkit: a failure for success, a hit for "
         "precision), 'exclude', or 'lasot' (pytracking's LaSOT rule: absent frames are failures; the "
         "default for --benchmark lasot).")]

BENCHMARK_HELP = "Benchmark (any case): " + "; ".join(
    f"{name} ({', '.join(b.aliases) + ': ' if b.aliases else ''}{b.summary})" for name, b in BENCHMARKS.items()) + "."


def _fail(message: object, code: int = EXIT_USAGE) -> NoReturn:
    fail(console, message, code)


def _split_names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [n for v in values for n in v.split(",") if n.strip()]


def _tracker_factory(weights, model, params, device, backend="torch", threads=0):
    """The tracker (torch threads and device set first), loaded only when the command asks for it: after
    every cheaper check."""
    from .loading import load_tracker, setup_torch

    def make_tracker():
        setup_torch(threads, device)
        return load_tracker(weights, model, params, device, backend, threads)

    return make_tracker


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
    from .track_video import VideoRequest, track_video

    request = VideoRequest(source, init, out, render, show_gt, target, select, max_frames)
    try:
        result = track_video(request, _tracker_factory(weights, model, params, device, backend, threads),
                             Bar("frames"), on_stop=lambda n: console.print(f"stopped after {n} frames (Ctrl-C)"))
    except UsageError as e:
        _fail(e)
    except RunFailed as e:
        _fail(e, EXIT_FAILED)
    if result.warning is not None:
        console.print(f"warning: {result.warning}", style="yellow", markup=False)
    n, rendered = len(result.boxes), render is not None
    console.print(
        f"[green]done[/]: {n} frames, tracker {n / result.track_s:.1f} fps, "
        f"{n / result.total_s:.1f} fps with decode{' and render' if rendered else ''}"
        + (f"; boxes -> {escape(str(out))}" if out else "") + (f"; video -> {escape(str(render))}" if render else "")
        + (f" (1 frame in {result.frame_step}, to stay small)" if result.frame_step > 1 else "")
    )


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
    benchmark: Annotated[str, typer.Option(help=BENCHMARK_HELP)] = "otb",
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
    from .evaluation import EvalRequest, run_benchmark

    request = EvalRequest(root, out, _split_names(sequences), name, resume, invalid_gt, per_sequence,
                          _split_names(drift))
    try:
        with Bar("frames") as bar:
            report = run_benchmark(benchmark, request, _tracker_factory(weights, model, params, device, backend,
                                                                        threads), bar)
    except UsageError as e:
        _fail(e)
    for seq_name, reason in report.skipped.items():
        console.print(f"skipped {seq_name}: {reason}", style="yellow", markup=False)
    show(report.tables)
    if report.failed:
        _fail(report.failed, EXIT_FAILED)


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
    from .evaluation import load_ground_truth
    from .evaluation.plots import plot_all, plot_attributes
    from .evaluation.scoring import score_results, scores_json, write_scores_json
    from .evaluation.tables import ope_tables

    if attributes and not plot_dir:
        _fail("--attributes draws plots: give --plot-dir too")
    try:
        seqs = load_ground_truth(benchmark, root, _split_names(sequences))
        folder_scores, dropped = score_results(results, seqs, invalid_gt)
    except ValueError as e:
        _fail(e)
    show(ope_tables(folder_scores, per_sequence))
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
    from .evaluation import load_ground_truth
    from .evaluation.drift import drift_outputs, folder_drift, folder_label
    from .evaluation.scoring import result_folders

    names = _split_names(sequences) or []
    if not names:
        _fail("--sequences: give sequence names or 'all'")
    try:
        seqs = load_ground_truth(benchmark, root, None if any(n.lower() == "all" for n in names) else names)
        dirs, tracker_names = result_folders(results)
    except ValueError as e:
        _fail(e)
    trackers = [folder_drift(d, seqs, name=n) for d, n in zip(dirs, tracker_names)]
    if not any(t.per_sequence for t in trackers):
        _fail(f"no result file matched any of the sequences ({', '.join(s.name for s in seqs)}); check --root, "
              "--sequences and the result file names (<seq>.txt)")
    show(drift_outputs(trackers, {t.name: out / folder_label(t.name) for t in trackers}, out, json_path))


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

    from .evaluation.tables import tune_table
    from .loading import load_tracker, setup_torch
    from .online import ParamsError
    from .tune import param_grid, params_toml, parse_grid, tune as run_tune, tune_sequences

    try:
        setup_torch(threads, device)
        values = parse_grid(grid)
        seqs = tune_sequences(root, layout, _split_names(sequences))
        tracker = load_tracker(weights, model, params, device)
        points = param_grid(tracker.params, values)
    except (UsageError, ParamsError) as e:
        _fail(e)
    frames = sum(len(s) for s in seqs)
    where = ", ".join(map(str, root))
    console.print(f"{len(points)} parameter sets x {len(seqs)} sequences ({frames} frames) of {where}", markup=False)
    with Bar("parameter sets") as bar:
        bar.start("tune", len(points))
        results = run_tune(tracker.model, seqs, points, on_result=lambda r: bar.advance(1, info=(
            f"AUC {r.auc:.3f} at {', '.join(f'{k}={v}' for k, v in r.changed.items())}")))
    console.print(tune_table(results, values, seqs))
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
    from .loading import export_model

    try:
        name, sidecar = export_model(weights, onnx, model, params, opset, threads)
    except UsageError as e:
        _fail(e)
    console.print(f"[green]done[/]: {escape(name)} -> {escape(str(onnx))} (template.onnx, detect.onnx, "
                  f"{escape(sidecar.name)}); track with --backend onnxruntime --weights {escape(str(onnx))}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
