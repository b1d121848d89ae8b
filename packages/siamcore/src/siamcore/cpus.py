"""How many CPUs this process may use, and how its compute threads should wait on a shared machine.

No torch here: the tracker and the trainer call :func:`choose_openmp_waiting` before they import
torch, because the OpenMP runtime (libgomp, which torch, MKL and oneDNN use on Linux) reads its wait
policy once, when it loads.
"""

from __future__ import annotations

import math
import os
from collections.abc import MutableMapping
from pathlib import Path


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity mask (taskset, a batch job's cpuset), lowered by its
    cgroup v2 CPU quota (``docker --cpus``, a Kubernetes limit). ``os.cpu_count()`` counts the machine's."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        group = Path("/proc/self/cgroup").read_text().split("0::", 1)[1].split("\n", 1)[0].strip("/")
        quota, period = (Path("/sys/fs/cgroup") / group / "cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, IndexError, ValueError):  # no cgroup v2, or no quota
        pass
    return cpus


# The user's own choice of OpenMP waiting always wins over ours.
OPENMP_WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
# What libgomp does when no policy is given: spin this many iterations after each parallel region.
LIBGOMP_DEFAULT_SPINCOUNT = "300000"


def choose_openmp_waiting(passive: bool, environ: MutableMapping[str, str] = os.environ) -> bool:
    """Set how OpenMP's idle threads wait, unless the user set a policy; True when it was set here.
    Effective only before torch is first imported (libgomp reads it once, when it loads).

    ``passive=True`` (the tracker, :mod:`tracker`): ``OMP_WAIT_POLICY=PASSIVE``, threads sleep between
    parallel regions. By default libgomp's threads spin ~300,000 iterations after every region; a
    tracker runs dozens of short regions per frame, so beside another process on one of two cores the
    spinning thread takes the core the working one needs: torch's SiamRPN kept 34% of its idle frame
    rate beside one busy process, 52% with passive waiting, at the same idle rate (1.01x)
    (``benchmarks/tracker_fps.py --busy 1 --versus-spinning``, benchmarks/RESULTS.md).

    ``passive=False`` (the trainer, :mod:`trainer`): libgomp's own spinning, made explicit so that the
    order of imports does not decide: the CPU recipe's training step runs 8% faster idle with it
    (3.3 vs 3.1 steps/s; beside a busy process it keeps 0.38-0.45 of that instead of 0.55-0.60), and a
    training machine is usually given to the training.
    """
    if any(name in environ for name in OPENMP_WAIT_VARIABLES):
        return False
    if passive:
        environ["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        environ["GOMP_SPINCOUNT"] = LIBGOMP_DEFAULT_SPINCOUNT
    return True
