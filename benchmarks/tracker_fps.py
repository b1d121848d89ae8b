"""Frames per second of ``Tracker.track()`` per model, against this machine's FLOP/s floor.

For each model and device (CPU, and CUDA when present) it measures, on the same frames:

- ``fps track``: ``track()`` alone (the frame is already decoded);
- ``fps +decode``: reading the JPEG file and decoding it (``cv2.imdecode``) plus ``track()``; both are
  timed frame by frame in the same pass, so the two columns describe the same run;
- ``GFLOP``: FLOPs of one ``track()`` call, counted by ``torch.utils.flop_counter.FlopCounterMode``;
- ``floor fps``: the matmul FLOP/s measured in the same run (2048^3, float32; measured again before
  every model, the best value kept, since other processes can only slow it down) divided by the
  model's FLOPs per frame, i.e. the frame rate of a tracker that ran at matmul speed and did nothing else;
- ``x floor``: ``fps track / floor fps`` (the issue's target is >= 0.7).

Backends (``--backends``, CPU only for onnxruntime): ``torch``, and ``onnxruntime`` when it is
installed: the model is exported (``tracker.onnx_export``) to a temporary folder and tracked by the
same tracker class through ``tracker.onnx_runtime``, on the same frames with the same thread count.
Passes of the two backends alternate (torch, onnxruntime, torch, ...) and each keeps its best pass, so
a burst of load from other processes hits both alike; a last table gives ``fps onnxruntime / fps torch``
per model (the issue's target: >= 1.3 for SiamFC and SiamRPN on 2 cores).

On a busy machine (``--busy N``): each model is timed again beside N processes that each keep a core busy,
and a last table gives idle fps, busy fps and the fraction kept per backend; ``--versus-spinning`` then runs
the same in a child process whose idle threads spin (``--spinning``: libgomp's and onnxruntime's defaults,
the tracker before :func:`siamcore.cpus.choose_openmp_waiting`) and puts both side by side:

    python benchmarks/tracker_fps.py --models siamfc,siamrpn --busy 1 --versus-spinning

The table is printed at the end (one progress line per model before it); with the defaults the
four models take about a minute on 2 idle cores.

Frames: an OTB/VOT sequence folder (``--source``; default the shared test data's ``otb/Couple``
when present) or generated 640x360 JPEG frames with a moving textured target. SiamFC uses the real
weights when found (``--siamfc-weights``), the other models random initialisation (speed does not
depend on the weights values). Run it alone on the machine for numbers worth recording:

    python benchmarks/tracker_fps.py --threads 2 [--models siamfc,siamrpn] [--frames 100 --repeats 5 --budget-s 60]
        [--backends torch,onnxruntime]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from siamcore.cpus import choose_openmp_waiting

# OpenMP reads its wait policy when torch loads, so it is settled before the import. --spinning: libgomp's
# own default (spin 300,000 iterations after each parallel region), i.e. the tracker before it asked for
# passive waiting.
SPINNING = "--spinning" in sys.argv
if SPINNING:
    os.environ.pop("OMP_WAIT_POLICY", None)
choose_openmp_waiting(passive=not SPINNING)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from tracker.datasets import load_otb_folder, load_vot_sequence, read_image_rgb  # noqa: E402
from siamcore.datasets.otb import is_otb_sequence  # noqa: E402  the readers moved to siamcore
from siamcore.datasets.vot import is_vot_sequence  # noqa: E402
from tracker.models import count_flops, create_model, list_models  # noqa: E402
from tracker.online import build_tracker  # noqa: E402
from tracker.weights import load_model  # noqa: E402

SHARED = Path(os.environ.get("SIAMTRACK_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def matmul_flops_per_s(device: torch.device, n: int = 2048, repeat: int = 10) -> float:
    """FLOP/s of an ``n^3`` float32 matmul: the best of ``repeat`` timed runs (after a warm-up)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    for _ in range(2):
        torch.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeat):
        sync(device)
        start = time.perf_counter()
        torch.matmul(a, b, out=out)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def generated_frames(folder: Path, count: int) -> tuple[list[Path], np.ndarray]:
    """JPEG frames of a textured square moving on a textured background (deterministic)."""
    rng = np.random.default_rng([20240517, count])
    background = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (7, 7), 0)
    target = cv2.GaussianBlur(rng.integers(0, 256, (60, 50, 3), dtype=np.uint8), (3, 3), 0)
    paths, boxes = [], []
    for i in range(count):
        frame = background.copy()
        x, y = int(200 + 120 * np.sin(i / 15)), int(150 + 60 * np.cos(i / 20))
        frame[y : y + 60, x : x + 50] = target
        path = folder / f"{i + 1:05d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        paths.append(path)
        boxes.append((x, y, 50, 60))
    return paths, np.asarray(boxes, dtype=np.float64)


def load_frames(source: Path | None, count: int, tmp: Path) -> tuple[str, list[Path], np.ndarray]:
    if source is not None and is_otb_sequence(source):
        seq = load_otb_folder(source)[0]
    elif source is not None and is_vot_sequence(source):
        seq = load_vot_sequence(source)
    else:
        paths, boxes = generated_frames(tmp, count)
        return "generated 640x360", paths, boxes
    n = min(count, len(seq))
    return f"{seq.name} ({source})", seq.frames[:n], seq.gt_xywh[:n]


def build_model(name: str, siamfc_weights: Path | None, device: torch.device):
    if name == "siamfc" and siamfc_weights is not None and siamfc_weights.is_file():
        return load_model(siamfc_weights, map_location=device), "real weights"
    torch.manual_seed(0)
    return create_model(name).eval().to(device), "random init"


def track_flops(tracker, frame: np.ndarray, box) -> float:
    tracker.init(frame, box)
    return float(count_flops(tracker.track, frame))


def measure(trackers: dict, paths: list[Path], box0, repeats: int, budget_s: float,
            warmup: int = 3) -> dict[str, tuple[float, float]]:
    """Per tracker: (fps of track() alone, fps of read + decode + track()), each the best of up to
    ``repeats`` passes over the frames (best-of filters out other processes' interference), after
    ``warmup`` frames; the trackers' passes alternate, so each round times every tracker under
    similar load; no new round starts once ``budget_s`` seconds have been spent (slow models on a
    busy machine). Decode and ``track()`` are timed separately for every frame of the same pass."""
    first = read_image_rgb(paths[0])
    for tracker in trackers.values():
        tracker.init(first, box0)
        for p in paths[1 : 1 + warmup]:
            tracker.track(read_image_rgb(p))
    best = {k: [float("inf"), float("inf")] for k in trackers}
    start = time.perf_counter()
    for r in range(repeats):
        if r > 0 and time.perf_counter() - start > budget_s:
            break
        for key, tracker in trackers.items():
            tracker.init(first, box0)
            decode_s = track_s = 0.0
            for p in paths[1:]:
                t0 = time.perf_counter()
                frame = read_image_rgb(p)
                t1 = time.perf_counter()
                tracker.track(frame)  # returns numpy boxes: the device work is finished
                t2 = time.perf_counter()
                decode_s += t1 - t0
                track_s += t2 - t1
            best[key] = [min(best[key][0], track_s), min(best[key][1], track_s + decode_s)]
    n = len(paths) - 1
    return {k: (n / t, n / total) for k, (t, total) in best.items()}


class BusyProcesses:
    """``n`` processes that each keep one core busy (``while True: pass``), as a camera grabber, a UI or
    another user's job would, for as long as the ``with`` block lasts."""

    def __init__(self, n: int):
        self.n = n
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        time.sleep(0.5 if self.n else 0.0)  # let the scheduler spread them
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.kill()
            proc.wait()


def onnxruntime_tracker(model, folder: Path, threads: int):
    """The same model exported to ``folder`` and loaded on the onnxruntime backend (idle pool threads
    spinning with ``--spinning``, as before the tracker asked for passive waiting)."""
    from tracker.onnx_export import export_onnx
    from tracker.onnx_runtime import load_onnx_tracker

    export_onnx(model, folder, check=False)
    return load_onnx_tracker(folder, threads=threads, spinning=SPINNING)


def print_busy_table(rows: list[dict], busy: int, baseline: list[dict] | None = None) -> None:
    """Idle and busy ``track()`` fps and the fraction kept; with ``baseline`` (the same run with spinning
    threads) also the idle ratio and the kept fraction before."""
    print(f"\nbeside {busy} busy process(es): track() fps idle / busy (target: kept >= 0.45 with 1 busy on 2 cores)")
    head = f"{'model':<18}{'backend':<13}{'idle':>7}{'busy':>7}{'kept':>7}"
    if baseline:
        head += f"{'spin idle':>11}{'spin busy':>11}{'spin kept':>11}{'idle vs spin':>14}"
    print(head)
    before = {(r["model"], r["backend"]): r for r in baseline or []}
    for r in rows:
        line = f"{r['model']:<18}{r['backend']:<13}{r['fps']:7.1f}{r['fps_busy']:7.1f}{r['fps_busy'] / r['fps']:7.2f}"
        b = before.get((r["model"], r["backend"]))
        if b:
            line += (f"{b['fps']:11.1f}{b['fps_busy']:11.1f}{b['fps_busy'] / b['fps']:11.2f}"
                     f"{r['fps'] / b['fps']:13.2f}x")
        print(line)


def run_spinning_baseline() -> list[dict]:
    """This benchmark again in a child process with ``--spinning`` (the wait policy is fixed at torch's
    import); its rows."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "spinning.json"
        argv = [a for a in sys.argv[1:] if a != "--versus-spinning"]
        print("\n--- the same with spinning threads (before passive waiting), in a child process ---", flush=True)
        subprocess.run([sys.executable, __file__, *argv, "--spinning", "--json", str(out)], check=True)
        return json.loads(out.read_text())


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="siamfc,siamrpn,siamconcatrpn,siambroadcastrpn",
                        help=f"comma-separated model names (known: {', '.join(list_models())})")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the issue's floor uses 2)")
    parser.add_argument("--frames", type=int, default=40, help="frames to time per model and pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per model; the best one counts")
    parser.add_argument("--budget-s", type=float, default=20.0,
                        help="no further pass of a model starts after this many seconds on it")
    parser.add_argument("--source", type=Path, default=SHARED / "otb" / "Couple", help="OTB/VOT sequence folder")
    parser.add_argument("--siamfc-weights", type=Path, default=SHARED / "weights" / "siamfc_alexnet.safetensors")
    parser.add_argument("--devices", default="cpu,cuda", help="devices to try (cuda skipped when absent)")
    parser.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    parser.add_argument("--backends", default="torch,onnxruntime",
                        help="torch and/or onnxruntime (CPU only; skipped when onnxruntime is not installed)")
    parser.add_argument("--busy", type=int, default=0,
                        help="also time each model beside this many busy processes and print the fraction kept")
    parser.add_argument("--spinning", action="store_true",
                        help="idle threads spin between parallel regions (libgomp's and onnxruntime's defaults, "
                             "the tracker before passive waiting); read before torch is imported")
    parser.add_argument("--versus-spinning", action="store_true",
                        help="then run the same with --spinning in a child process and compare (needs --busy)")
    parser.add_argument("--json", type=Path, help="write the rows (fps idle and busy) to this file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    devices = [torch.device(d) for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    backends = [b for b in args.backends.split(",") if b != "onnxruntime" or onnxruntime_available()]
    if "onnxruntime" in args.backends.split(",") and "onnxruntime" not in backends:
        print("onnxruntime is not installed: torch only (pip install onnxruntime)")
    with tempfile.TemporaryDirectory() as tmp:
        label, paths, boxes = load_frames(args.source, args.frames, Path(tmp))
        first = read_image_rgb(paths[0])
        waiting = "spinning" if SPINNING else f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')}"
        print(f"torch {torch.__version__}, {args.threads} CPU thread(s), {waiting}, frames: {label}, "
              f"{len(paths)} timed")
        records = []
        for device in devices:
            peak = 0.0
            rows = []
            for name in args.models.split(","):
                peak = max(peak, matmul_flops_per_s(device))
                model, weights = build_model(name, args.siamfc_weights, device)
                trackers = {}
                if "onnxruntime" in backends and device.type == "cpu":  # exported before torch's channels-last
                    trackers["onnxruntime"] = onnxruntime_tracker(model, Path(tmp) / f"{name}-onnx", args.threads)
                tracker = build_tracker(model, channels_last=not args.no_channels_last)
                flops = track_flops(tracker, first, boxes[0])
                if "torch" in backends:
                    trackers = {"torch": tracker, **trackers}
                fps = measure(trackers, paths, boxes[0], args.repeats, args.budget_s)
                for backend, (fps_track, fps_decode) in fps.items():
                    rows.append((name, backend, weights, flops, fps_track, fps_decode))
                print(f"  [{device}] {name}: " + ", ".join(f"{b} {f[0]:.1f} fps" for b, f in fps.items()), flush=True)
                if args.busy > 0:
                    with BusyProcesses(args.busy):
                        fps_busy = measure(trackers, paths, boxes[0], args.repeats, args.budget_s)
                    print(f"  [{device}] {name} beside {args.busy} busy: "
                          + ", ".join(f"{b} {f[0]:.1f} fps" for b, f in fps_busy.items()), flush=True)
                    records += [{"model": name, "backend": b, "device": str(device), "fps": fps[b][0],
                                 "fps_busy": fps_busy[b][0]} for b in fps]
                del tracker, trackers, model
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            peak = max(peak, matmul_flops_per_s(device))
            print(f"\n[{device}] 2048^3 matmul: {peak / 1e9:.0f} GFLOP/s (best of the measurements around the models)")
            print(f"{'model':<18}{'backend':<13}{'weights':<14}{'GFLOP':>7}{'floor fps':>11}{'fps track':>11}"
                  f"{'fps +decode':>13}{'x floor':>9}")
            for name, backend, weights, flops, fps_track, fps_decode in rows:
                floor = peak / flops
                print(f"{name:<18}{backend:<13}{weights:<14}{flops / 1e9:7.2f}{floor:11.1f}{fps_track:11.1f}"
                      f"{fps_decode:13.1f}{fps_track / floor:9.2f}")
            by_model = {}
            for name, backend, _, _, fps_track, _ in rows:
                by_model.setdefault(name, {})[backend] = fps_track
            pairs = {n: f for n, f in by_model.items() if {"torch", "onnxruntime"} <= set(f)}
            if pairs:
                print(f"\n[{device}] onnxruntime / torch, track() fps (target >= 1.3 for siamfc and siamrpn)")
                for name, f in pairs.items():
                    print(f"{name:<18}{f['onnxruntime'] / f['torch']:6.2f}x  "
                          f"({f['onnxruntime']:.1f} vs {f['torch']:.1f} fps)")

        if args.busy > 0:
            baseline = run_spinning_baseline() if args.versus_spinning else None
            print_busy_table(records, args.busy, baseline)
        if args.json:
            args.json.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
