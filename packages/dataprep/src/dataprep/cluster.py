"""Where shard tasks run: in-process, on a local Dask cluster, or on an existing Dask cluster.

- ``synchronous``: a plain loop in this process (debugging; same function, same bytes).
- ``local`` (default): ``distributed.LocalCluster`` with ``workers`` processes of one thread,
  scheduler and dashboard on 127.0.0.1 only. Workers get glibc malloc settings through Dask's
  ``distributed.nanny.pre-spawn-environ``: Dask's default ``MALLOC_TRIM_THRESHOLD_`` (64 KiB)
  hands every freed 720p frame buffer back to the OS, and the next decode page-faults it in again
  (~50% slower decodes measured here).
- ``tcp://HOST:PORT``: a Client on a cluster started with ``dask scheduler`` / ``dask worker``
  (dataprep installed on the workers, raw data and OUT on a shared filesystem; start workers with
  ``--nthreads 1`` and the malloc variables in their environment, see the README).

Failed tasks are retried (``retries``); a worker killed mid-task is replaced by the scheduler
and its task re-run (the shard is only ever renamed into place complete).
"""

from __future__ import annotations

import importlib.util
import logging
import os
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
        futures = {
            self.client.submit(fn, t, key=f"dataprep-{t.name}-{run_id}", retries=self.retries, pure=False): t
            for t in tasks
        }
        try:
            for fut in as_completed(list(futures)):
                t = futures[fut]
                try:
                    yield Outcome(t, fut.result())
                except Exception as exc:
                    yield Outcome(t, error=exc)
                finally:
                    fut.release()
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()


def warm_worker() -> int:
    """Import the task code on a worker before the clock starts (and fail early if it is missing there)."""
    import dataprep.task  # noqa: F401

    return os.getpid()


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
def open_executor(cfg: DaskConfig) -> Iterator[Executor]:
    """An :class:`Executor` for ``cfg.scheduler``; clusters and clients it started are closed on exit,
    whatever happens (errors, Ctrl-C). ClusterError when the cluster cannot be used."""
    if cfg.scheduler == "synchronous":
        yield Executor("synchronous (in this process)", workers=1)
        return

    import dask
    from distributed import Client, LocalCluster

    cluster = client = None
    try:
        if cfg.scheduler == "local":
            env = worker_environ(cfg)
            # Dask lets variables already in this process's environment win over the config (and its
            # nannies leave them set here), so set ours for the time the nannies read them.
            try:
                with dask.config.set({"distributed.nanny.pre-spawn-environ": env}), \
                        _environ({k: str(v) for k, v in env.items()}):
                    cluster = LocalCluster(
                        n_workers=cfg.workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # never on all interfaces; the HTTP server runs even without bokeh
                        silence_logs=logging.ERROR,
                    )
            except RuntimeError as exc:  # e.g. "Nanny failed to start": a worker process died while starting
                raise ClusterError(f"the local Dask cluster did not start ({exc}): a worker process died or could "
                                   "not start; run the same command again (finished shards are kept), or check "
                                   "memory limits") from None
            client = Client(cluster)
            workers = cfg.workers
            description = f"local Dask cluster, {workers} worker process(es) x 1 thread ({cluster.scheduler_address})"
            has_bokeh = importlib.util.find_spec("bokeh") is not None
            dashboard = client.dashboard_link + ("" if has_bokeh else "  (charts need: pip install bokeh)")
        else:
            client = _connect(Client, cfg)
            workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            description = f"Dask cluster at {cfg.scheduler}, {workers} worker(s)"
            dashboard = client.dashboard_link
        _warm(client, cfg)
        yield Executor(description, workers=workers, dashboard=dashboard, client=client, retries=cfg.retries)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


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


def _warm(client, cfg: DaskConfig) -> None:
    """Import the task code on every worker; ClusterError when a worker cannot (dataprep not installed there)."""
    try:
        client.run(warm_worker)
    except Exception as exc:
        raise ClusterError(f"the Dask workers ({cfg.scheduler}) cannot run dataprep: {type(exc).__name__}: {exc}. "
                           "Install siamtrack-dataprep (same version) in the workers' environment") from None
