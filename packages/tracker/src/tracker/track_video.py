"""``tracker run``: track one target through a video, a frame folder, an OTB/VOT sequence or a camera,
and write its boxes and/or a rendered video.

Everything that can be refused is refused before the network is loaded (:class:`~tracker.errors.UsageError`):
the first box, the output files, the source, the renderer. A run that fails part-way (an unreadable
frame, the tracker or renderer failing on a frame) keeps the boxes tracked so far and raises
:class:`~tracker.errors.RunFailed` saying where they are; Ctrl-C (how a camera run ends) keeps them too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import RunFailed, UsageError


@dataclass(frozen=True)
class VideoRequest:
    source: Path
    init: str | None = None  # --init x,y,w,h as typed
    out: Path | None = None  # boxes, OTB format
    render: Path | None = None  # annotated video
    show_gt: bool = False
    target: int = 1  # two-target OTB folders
    select: bool = False  # draw the first box with the mouse
    max_frames: int = 0


@dataclass
class VideoRun:
    """What a run did: ``boxes`` (one per frame tracked), speeds, ``stopped`` (by Ctrl-C) and ``warning``
    (a video shorter than its container says)."""

    tracker_name: str
    boxes: list = field(default_factory=list)
    track_s: float = 0.0
    total_s: float = 0.0
    stopped: bool = False
    warning: str | None = None
    frame_step: int = 1  # the GIF's frame step (1: every frame)


def check_output_file(path: Path | None, flag: str) -> None:
    """Refuse, before any work, an output file that is a folder or cannot be written: a run that tracks
    every frame and then fails to save the boxes loses them."""
    if path is None:
        return
    if path.exists() and not path.is_file():
        raise UsageError(f"{flag} {path} is a folder (or not a regular file); give a file name, e.g. "
                         f"{path / 'boxes.txt'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{flag} {path} cannot be written here (no permission in {folder}); choose another place")


def parse_box(text: str) -> np.ndarray:
    """``--init`` as 4 floats. Refused with the text as typed and what is wrong with it: a NaN would
    otherwise reach the tracker and fail there, showing a box the user never typed."""
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
    raise UsageError(f"--init {text!r}: {problem}")


def track_video(request: VideoRequest, make_tracker: Callable, progress, on_stop: Callable[[int], None]) -> VideoRun:
    """Check ``request``, build the tracker (``make_tracker``, once nothing else can be refused), track
    every frame with ``progress`` (:class:`tracker.console.Bar`), write the boxes and the video.
    ``on_stop(frames)`` is told at once when Ctrl-C ends the run."""
    from .datasets import UnreadableFrame, numbered_frames, open_source, write_results
    from .interactive import gui_problem, select_box_xywh
    from .render import VideoSink, annotate

    source, select, max_frames = request.source, request.select, request.max_frames
    if select and request.init:
        raise UsageError("give the first box either with --init or with --select, not both")
    check_output_file(request.out, "--out")
    check_output_file(request.render, "--render")
    if select and (problem := gui_problem()):
        raise UsageError(f"--select needs a window to draw the box in, but {problem}. Give the box with --init x,y,w,h")
    try:
        src = open_source(source, otb_target=request.target)
    except ValueError as e:
        raise UsageError(str(e)) from None
    box0 = parse_box(request.init) if request.init else src.init_box_xywh
    if box0 is None and not select:
        raise UsageError(f"{source} has no ground truth: give the first box with --init x,y,w,h or draw it with "
                         "--select")
    try:
        sink = VideoSink(request.render, fps=src.fps) if request.render else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    tracker = make_tracker()
    gt = src.sequence.gt_xywh if (request.show_gt and src.sequence is not None) else None
    run, start = VideoRun(tracker.name), time.perf_counter()
    boxes = run.boxes
    total = min(len(src) or max_frames, max_frames) if max_frames else len(src) or None
    failure, current = None, 0  # failure: the error that ended the run early, naming its frame
    try:
        with progress:
            progress.start(f"{tracker.name} on {source.name}", total)
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
                run.track_s += time.perf_counter() - t0
                boxes.append(box)
                if sink is not None:
                    gt_box = None if gt is None else gt[i] if i < len(gt) else np.full(4, np.nan)
                    sink.write(annotate(frame, box, score, gt_box, max_width_px=sink.max_width_px))
                progress.frame(len(boxes) / run.track_s)
    except KeyboardInterrupt:  # how a camera run ends: keep what was tracked
        run.stopped = True
        on_stop(len(boxes))
    except UnreadableFrame as e:  # an unreadable frame mid-video: keep the boxes tracked before it
        failure = str(e)
    except (ValueError, RuntimeError) as e:  # the tracker or the renderer failed on this frame
        failure = f"frame {current}: {e}"
    if not boxes:
        if sink is not None:
            sink.abort()
        raise RunFailed(failure or f"{source}: no frames could be read")
    run.total_s = time.perf_counter() - start
    if request.out:
        write_results(request.out, np.asarray(boxes))
    if sink is not None:
        try:
            sink.close()
        except (ValueError, RuntimeError):  # the renderer's own failure ended the run: nothing to keep
            if failure is None:
                raise
            sink.abort()
        run.frame_step = sink.frame_step
    if failure is not None:
        written = " and ".join(str(p) for p in (request.out, request.render) if p)
        kept = f"; the {len(boxes)} frames tracked before it are in {written}" if written else ""
        raise RunFailed(f"{source}: {failure}{kept}")
    if not run.stopped and not (max_frames and len(boxes) >= max_frames) and (short := src.shortfall(len(boxes))):
        run.warning = f"{short}; {len(boxes)} frames tracked"
    return run
