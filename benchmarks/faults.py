"""Crash safety of `dataprep build`: kill it at many moments, re-run it, compare with an uninterrupted build.

A generated TrackingNet set (real layout, real JPEGs) is built once without faults (the reference).
Then, for each fault, a fresh build into a new folder is started on the default local Dask cluster
(2 workers), the fault is injected ``t`` seconds in (``t`` spread over the reference's wall time),
and the same command is run again to completion (a resume). The fault kinds:

- ``driver``: SIGKILL of the `dataprep build` process (its workers die with it);
- ``worker``: SIGKILL of one Dask worker process (the build must finish by itself: Dask re-runs the task);
- ``workers``: SIGKILL of every worker process at once (the build must finish or fail cleanly; the
  re-run finishes it).

Every output file but ``build.json`` must equal the reference byte for byte, and ``build.json``
without its ``run`` section likewise. Prints faults injected, runs that needed the re-run, outputs
that differed (target 0) and re-runs that failed.

    python benchmarks/faults.py [--moments 5] [--videos 12] [--frames 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from testkit.trackingnet import write_trackingnet

BIN = Path(sys.executable).parent


def command(root: Path, out: Path, config: Path) -> list[str]:
    return [str(BIN / "dataprep"), "build", "--config", str(config), "--root", str(root), "--out", str(out),
            "--workers", "2", "--seed", "0", "--no-progress"]


def output_of(out: Path) -> tuple[dict[str, bytes], dict]:
    """Every output file's bytes (but build.json), and build.json without its run section."""
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
             if p.is_file() and p.name not in ("build.json", ".lock")}
    build = json.loads((out / "build.json").read_text())
    build.pop("run", None)
    return files, build


def describe_difference(got: tuple[dict, dict], reference: tuple[dict, dict]) -> str:
    """Which files differ, are missing or are extra, and which build.json keys differ."""
    files, ref_files = got[0], reference[0]
    parts = [f"missing {sorted(set(ref_files) - set(files))}"] if set(ref_files) - set(files) else []
    parts += [f"extra {sorted(set(files) - set(ref_files))}"] if set(files) - set(ref_files) else []
    parts += [f"differs {sorted(k for k in set(files) & set(ref_files) if files[k] != ref_files[k])}"]
    parts += [f"build.json keys {sorted(k for k in set(got[1]) | set(reference[1]) if got[1].get(k) != reference[1].get(k))}"]
    return "; ".join(p for p in parts if not p.endswith("[]"))


def worker_processes(driver: psutil.Process) -> list[psutil.Process]:
    """The Dask worker processes the driver's LocalCluster started (its descendants running a worker)."""
    try:
        children = driver.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    try:
        own = driver.cmdline()
    except psutil.NoSuchProcess:
        return []
    for child in children:
        try:
            cmdline = child.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        text = " ".join(cmdline)
        forked = cmdline == own  # a forked worker (the default on Linux) runs the driver's command line
        if (forked or "spawn_main" in text or "forkserver" in text) and "resource_tracker" not in text:
            out.append(child)
    return out


def inject(kind: str, proc: subprocess.Popen, at_s: float) -> bool:
    """Wait ``at_s`` seconds, then inject the fault; False when the build had already ended."""
    deadline = time.monotonic() + at_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    if proc.poll() is not None:
        return False
    workers: list[psutil.Process] = []
    while kind != "driver" and not workers and proc.poll() is None:  # the cluster may still be starting
        workers = worker_processes(psutil.Process(proc.pid))
        time.sleep(0.02)
    if proc.poll() is not None:
        return False
    if kind == "driver":
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()  # the driver's own death takes them down too; kill now so nothing lingers
        proc.send_signal(signal.SIGKILL)
        return True
    for w in workers[:1] if kind == "worker" else workers:
        try:
            w.kill()
        except psutil.NoSuchProcess:
            pass
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moments", type=int, default=5, help="fault times per kind, spread over the build")
    ap.add_argument("--keep", default=None, help="copy each differing output (and the reference) into this folder")
    ap.add_argument("--videos", type=int, default=24, help="generated sequences (2 per shard)")
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        tmp = Path(tmp)
        root = tmp / "TrackingNet"
        write_trackingnet(root, chunks=(0,), sequences_per_chunk=args.videos, frames=args.frames,
                          size=(1280, 720), seed=0)
        config = tmp / "build.toml"
        config.write_text('dataset = "trackingnet"\n[pairs]\nper_sequence = 32\n[output]\nvideos_per_shard = 2\n')

        start = time.monotonic()
        ref = subprocess.run(command(root, tmp / "reference", config), capture_output=True, text=True)
        ref_s = time.monotonic() - start
        if ref.returncode != 0:
            print(ref.stderr, file=sys.stderr)
            return 1
        reference = output_of(tmp / "reference")
        print(f"reference build: {len(reference[0])} files in {ref_s:.1f} s "
              f"({args.videos} videos, {args.videos // 2} shards, 2 workers)")

        injected = needed_rerun = differed = rerun_failed = 0
        for kind in ("driver", "worker", "workers"):
            for i in range(args.moments):
                at_s = ref_s * (i + 1) / (args.moments + 1)
                out = tmp / f"{kind}-{i}"
                proc = subprocess.Popen(command(root, out, config), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
                hit = inject(kind, proc, at_s)
                try:
                    _, err = proc.communicate(timeout=max(120.0, 10 * ref_s))
                except subprocess.TimeoutExpired:  # a hang is a failure of its own
                    proc.kill()
                    err = "timed out"
                first_ok = proc.returncode == 0
                if hit:
                    injected += 1
                last = [line for line in (err or "").splitlines() if line.strip()][-1:]
                status = "finished by itself" if first_ok else f"exit {proc.returncode} ({' '.join(last)[:90]})"
                if not first_ok:
                    needed_rerun += 1
                    again = subprocess.run(command(root, out, config), capture_output=True, text=True,
                                           timeout=max(120.0, 10 * ref_s))
                    if again.returncode != 0:
                        rerun_failed += 1
                        print(f"  {kind} at {at_s:.1f} s: re-run failed (exit {again.returncode}): "
                              f"{again.stderr.strip().splitlines()[-1:]}")
                        continue
                    status += ", resumed"
                got = output_of(out)
                same = got == reference
                differed += not same
                if not same and args.keep:
                    shutil.copytree(out, Path(args.keep) / out.name, dirs_exist_ok=True)
                    shutil.copytree(tmp / "reference", Path(args.keep) / "reference", dirs_exist_ok=True)
                print(f"  {kind:7s} at {at_s:5.1f} s: {'injected' if hit else 'build had ended'}; {status}; "
                      f"output {'identical' if same else 'DIFFERENT: ' + describe_difference(got, reference)}")
        print(f"\nfaults injected: {injected}; runs that needed a re-run: {needed_rerun}; re-runs that failed: "
              f"{rerun_failed}; outputs differing from the reference: {differed} (target 0)")
        return 0 if differed == 0 and rerun_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
