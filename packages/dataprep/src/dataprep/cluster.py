"""Where shard tasks run: in-process, on a local Dask cluster, or on an existing Dask cluster.

- ``synchronous``: a plain loop in this process (debugging; same function, same bytes).
- ``local`` (default): ``distributed.LocalCluster`` with ``workers`` processes of one thread,
  scheduler (and the dashboard, when asked for) on 127.0.0.1 only. On Linux the worker processes are
  forked from this one, which has already imported the task code: a spawned worker imports Python,
  Dask and OpenCV again (0.6-1 CPU-s each, most of a small build's cost). Every worker gets glibc
  malloc settings (:func:`dataprep.malloc.set_malloc`): Dask's default ``MALLOC_TRIM_THRESHOLD_`` (64 KiB) hands every
  freed 720p frame buffer back to the OS, and the next decode page-faults it in again (~50% slower
  decodes measured here).
- ``tcp://HOST:PORT``: a Client on a cluster started with ``dask scheduler`` / ``dask worker``
  (dataprep installed on the workers, raw data and OUT on a shared filesystem; start workers with
  ``--nthreads 1``, see the README; each shard task sets the malloc settings in its own process).

Failed tasks are retried (``retries``); a worker killed mid-task is replaced by the scheduler
and its task re-run (the shard is only ever renamed into place complete).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dataprep.config import DaskConfig


@dataclass
class Outcome:
    task: Any
    result: Any = None
    error: BaseException | None = None


@dataclass
class Executor:
    """Runs ``fn(task)`` for each task and yields :class:`Outcome` in completion order."""

    description: str
    workers: int
    dashboard: str | None = None
    client: Any = None
    retries: int = 0

    def run(self, fn: Callable, tasks: list) -> Iterator[Outcome]:
        if self.client is None:
            for t in tasks:
                try:
                    yield Outcome(t, fn(t))
                except Exception as exc:  # reported by the caller, the other shards go on
                    yield Outcome(t, error=exc)
            return
        from distributed import as_completed

        run_id = uuid.uuid4().hex[:8]
        pending = iter(tasks)
        futures: dict = {}

        def submit_next():
            """The next task's future, or None when all are submitted."""
            t = next(pending, None)
            if t is None:
                return None
            fut = self.client.submit(fn, t, key=f"dataprep-{t.name}-{run_id}", retries=self.retries, pure=False)
            futures[fut] = t
            return fut

        # A bounded window of submitted tasks: the client and the scheduler hold every submitted task's
        # inputs (TrackingNet: ~0.5 KB a video), so submitting all at once made the driver grow with the
        # build; two queued per worker keep every worker busy all the same (in submission order).
        for _ in range(self.in_flight()):
            submit_next()
        done = as_completed(list(futures))
        try:
            for fut in done:
                t = futures.pop(fut)
                try:
                    yield Outcome(t, fut.result())
                except Exception as exc:
                    yield Outcome(t, error=exc)
                finally:
                    fut.release()
                window = self.in_flight()
                while len(futures) < window and (fut := submit_next()) is not None:
                    done.add(fut)
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()

    def in_flight(self) -> int:
        """Tasks submitted at a time: 2 per worker thread (one running, one queued) + 2; the cluster is
        asked each time, so workers that join a running build get work too."""
        try:
            threads = sum(self.client.nthreads().values())
        except Exception:  # the scheduler is busy or gone: the next result or error will say
            threads = self.workers
        return 2 * max(threads, 1) + 2


def warm_worker(module: str) -> int:
    """Import the task code on a worker before the clock starts (and fail early if it is missing there)."""
    importlib.import_module(module)
    return os.getpid()


@contextmanager
def _fork_safe(method: str) -> Iterator[None]:
    """While workers may be forked from this process, keep OpenCV's thread pool stopped here.

    A child forked while the pool has threads inherits the pool's state but not its threads, and
    its first OpenCV call that touches the pool waits for them forever (measured: 19 of 20 forked
    children hung after the parent had blurred one image). One thread means no pool threads."""
    cv2 = sys.modules.get("cv2") if method == "fork" else None
    if cv2 is None:
        yield
        return
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def _preload_forkserver(module: str) -> None:
    """Make the fork server import the task code once, so that each worker forked from it has it."""
    import multiprocessing

    from distributed.utils import get_mp_context

    get_mp_context()  # sets Dask's own preload list (once); ours replaces it until the server starts
    multiprocessing.get_context("forkserver").set_forkserver_preload(["distributed", module])


STARTED = {"fork": "forked", "forkserver": "forked by a fork server", "spawn": "spawned"}


def start_method(cfg: DaskConfig) -> str:
    """The multiprocessing start method of local workers: ``auto`` is fork on Linux (cheap; safe here
    since workers only run the task code, single-threaded, with OpenCV's thread pool off), spawn
    elsewhere (fork is unsafe on macOS)."""
    if cfg.start_method != "auto":
        return cfg.start_method
    return "fork" if sys.platform.startswith("linux") else "spawn"


def worker_environ(cfg: DaskConfig) -> dict[str, Any]:
    """Dask's pre-spawn environment for local workers, with our malloc settings."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.update(
        {
            "MALLOC_TRIM_THRESHOLD_": int(cfg.malloc_trim_threshold_bytes),
            "MALLOC_TOP_PAD_": int(cfg.malloc_top_pad_bytes),
            "OMP_NUM_THREADS": 1,
            "OPENCV_FOR_THREADS_NUM": 1,
        }
    )
    return env


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class ClusterError(Exception):
    """The Dask cluster cannot be started or reached, or its workers cannot run dataprep; the
    message says what to do."""


@contextmanager
def open_executor(cfg: DaskConfig, preload: str) -> Iterator[Executor]:
    """An :class:`Executor` for ``cfg.scheduler``; clusters and clients it started are closed on exit,
    whatever happens (errors, Ctrl-C). ClusterError when the cluster cannot be used.

    ``preload`` names the module holding the task code (``"dataprep.task"``): every worker imports it
    before the first task. Passed in, not imported here, so that the task code may use this module's
    helpers without an import circle."""
    if cfg.scheduler == "synchronous":
        yield Executor("synchronous (in this process)", workers=1)
        return

    import dask
    from distributed import Client, LocalCluster

    settings = {
        "distributed.worker.multiprocessing-method": start_method(cfg),
        # a worker gets its next shard only when it is free (Dask's default queues 2 on a 1-thread worker):
        # shard costs vary with frame sizes, and a heavy shard queued behind another left a worker idle
        "distributed.scheduler.worker-saturation": 1.0,
    }
    if not cfg.dashboard:  # its statistical profiler (100 samples/s in every worker) only feeds the dashboard
        settings["distributed.worker.profile.enabled"] = False
    if cfg.scheduler == "local":
        settings["distributed.nanny.pre-spawn-environ"] = worker_environ(cfg)
    # held for the executor's whole life: a nanny restarting a killed worker reads these again
    with dask.config.set(settings), _fork_safe(settings["distributed.worker.multiprocessing-method"]):
        if settings["distributed.worker.multiprocessing-method"] == "forkserver":
            _preload_forkserver(preload)
        cluster = client = None
        try:
            if cfg.scheduler == "local":
                cluster = _local_cluster(LocalCluster, cfg)
                client = Client(cluster)
                workers = cfg.workers
                started = STARTED[settings["distributed.worker.multiprocessing-method"]]
                description = (f"local Dask cluster, {workers} worker process(es) x 1 thread, {started} "
                               f"({cluster.scheduler_address})")
                dashboard = None
                if cfg.dashboard:
                    has_bokeh = importlib.util.find_spec("bokeh") is not None
                    dashboard = client.dashboard_link + ("" if has_bokeh else "  (charts need: pip install bokeh)")
            else:
                client = _connect(Client, cfg)
                workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
                description = f"Dask cluster at {cfg.scheduler}, {workers} worker(s)"
                dashboard = client.dashboard_link
            _warm(client, cfg, preload)
            yield Executor(description, workers=workers, dashboard=dashboard, client=client, retries=cfg.retries)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _local_cluster(cluster_cls, cfg: DaskConfig):
    """The LocalCluster of ``cfg``, or ClusterError when a worker process dies while it starts."""
    # Dask lets variables already in this process's environment win over the config (and its nannies
    # leave them set here), so set ours for the time the nannies read them; forked workers inherit them.
    env = worker_environ(cfg)
    try:
        with _environ({k: str(v) for k, v in env.items()}):
            return cluster_cls(
                n_workers=cfg.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0" if cfg.dashboard else None,  # never on all interfaces
                silence_logs=logging.ERROR,
            )
    except RuntimeError as exc:  # e.g. "Nanny failed to start": a worker process died while starting
        raise ClusterError(f"the local Dask cluster did not start ({exc}): a worker process died or could "
                           "not start; run the same command again (finished shards are kept), or check "
                           "memory limits") from None


def _connect(client_cls, cfg: DaskConfig):
    """A Client on the existing cluster at ``cfg.scheduler`` with at least one worker, or ClusterError."""
    timeout = cfg.connect_timeout_s
    start_it = (f"start it with `dask scheduler` and workers with `dask worker {cfg.scheduler} --nthreads 1` "
                "(see the README), or build on this machine with --scheduler local")
    try:
        client = client_cls(cfg.scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {cfg.scheduler} ({exc}): {start_it}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        client.close()
        raise ClusterError(f"the Dask scheduler at {cfg.scheduler} has no worker after {timeout:g} s: "
                           f"{start_it}") from None
    return client


def _warm(client, cfg: DaskConfig, preload: str) -> None:
    """Import the task code on every worker; ClusterError when a worker cannot (dataprep not installed there)."""
    try:
        client.run(warm_worker, preload)
    except Exception as exc:
        raise ClusterError(f"the Dask workers ({cfg.scheduler}) cannot run dataprep: {type(exc).__name__}: {exc}. "
                           "Install siamtrack-dataprep (same version) in the workers' environment") from None
