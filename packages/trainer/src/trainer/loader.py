"""From an epoch's plan to the model's inputs: the iterator over the epoch's batches, its workers, and the
device tensors a batch becomes.

An epoch's batches come from DataLoader workers running :class:`~trainer.data.PairStream` (each builds
whole batches; the batches do not depend on the number of workers), or, when the frozen trunk's features
are cached, from :func:`trainer.feature_cache.cached_batch` in the main process. Either way the loop
receives the same dicts and turns them into the model's arguments with :func:`model_inputs` or
:func:`feature_inputs`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils.data import DataLoader

from siamcore.cpus import usable_cpus
from tracker.models import box_mask
from trainer.data import PairStream
from trainer.feature_cache import FeatureCache, cached_batch


def epoch_batches(dataset: PairStream, cache: FeatureCache | None, workers: int, seed: int, prefetch_factor: int,
                  pin_memory: bool) -> Iterable[dict[str, Any]]:
    """The batches of the epoch ``dataset`` is set to (:meth:`~trainer.data.PairStream.set_epoch`), from its
    start batch on: from the feature cache when there is one, else from ``workers`` DataLoader workers."""
    plan = dataset.plan
    if cache is not None:
        return (cached_batch(cache, plan, j, seed) for j in range(dataset.start_batch, plan.num_batches))
    return DataLoader(
        dataset, batch_size=None, num_workers=workers, pin_memory=pin_memory,
        prefetch_factor=prefetch_factor if workers else None,
        worker_init_fn=worker_init,
        generator=torch.Generator().manual_seed(seed),  # never touch the global RNG
    )


def loader_workers(requested: int) -> tuple[int, str | None]:
    """``data.workers`` capped by :func:`siamcore.cpus.usable_cpus`, and the line that says so (None when not capped).
    More workers than CPUs only take turns on them while each holds its prefetched batches in memory,
    and torch would warn about it at every epoch; the batches do not depend on the number of workers."""
    cpus = usable_cpus()
    if requested <= cpus:
        return requested, None
    return cpus, f"data.workers {requested} -> {cpus}: this process may use {cpus} CPU{'s' if cpus > 1 else ''}"


def worker_init(_worker_id: int) -> None:
    """DataLoader workers ignore Ctrl-C: the main process stops the run at a step boundary."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def images_to_device(images_nhwc: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` (pinned) -> float ``[B, 3, H, W]`` 0..255 on ``device``.

    The copy is asynchronous (``non_blocking``); the cast happens on the device. The permuted
    tensor is channels-last in memory already; on request it stays so, otherwise it is made NCHW.
    """
    x = images_nhwc.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def feature_inputs(
    batch: dict[str, Any], device: torch.device, needs_guide: bool, views: dict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A feature-cache batch's ``(exemplar_features, search_features, exemplar_guide, search_guide)`` on
    ``device`` (float32), the arguments of ``model(..., features=True)``; guide masks at crop size."""
    exemplar = batch["exemplar_features"].to(device, non_blocking=True).float()
    search = batch["search_features"].to(device, non_blocking=True).float()
    if not needs_guide:
        return exemplar, search, None, None
    exemplar_guide = box_mask(batch["exemplar_guide_xyxy"].to(device), views["exemplar"].size)
    search_guide = box_mask(batch["search_guide_xyxy"].to(device), views["search"].size)
    return exemplar, search, exemplar_guide, search_guide


def model_inputs(
    batch: dict[str, Any], device: torch.device, channels_last: bool, needs_guide: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A batch's ``(exemplar, search, exemplar_guide, search_guide)`` on ``device``, the arguments of
    the model's forward; the guide masks (:func:`tracker.models.box_mask`) only when it takes them."""
    exemplar = images_to_device(batch["exemplar"], device, channels_last)
    search = images_to_device(batch["search"], device, channels_last)
    if not needs_guide:
        return exemplar, search, None, None
    exemplar_guide = box_mask(batch["exemplar_guide_xyxy"].to(device), exemplar.shape[-1])
    search_guide = box_mask(batch["search_guide_xyxy"].to(device), search.shape[-1])
    return exemplar, search, exemplar_guide, search_guide
