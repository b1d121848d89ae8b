"""DistributedDataParallel setup for runs started by ``torchrun`` (one process per GPU, or gloo on CPU).

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them a run is a single
process. Strings travel between ranks as uint8 tensors (``broadcast_object_list`` would pickle).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str) -> DistInfo:
    """Join the process group when launched by torchrun (nccl on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        if device_kind == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_str(text: str, info: DistInfo, device: torch.device, max_bytes: int = 4096) -> str:
    """Rank 0's ``text`` on every rank."""
    if not info.enabled:
        return text
    buf = torch.zeros(max_bytes, dtype=torch.uint8, device=device)
    if info.is_main:
        data = text.encode("utf-8")[:max_bytes]
        buf[: len(data)] = torch.tensor(list(data), dtype=torch.uint8)
    dist.broadcast(buf, src=0)
    raw = bytes(buf.cpu().tolist())
    return raw.rstrip(b"\0").decode("utf-8")


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def ranks_agree(value: float, info: DistInfo, device: torch.device) -> bool:
    """Whether every rank holds the same ``value`` (e.g. a parameter checksum after DDP training)."""
    if not info.enabled:
        return True
    lo = torch.tensor([value], dtype=torch.float64, device=device)
    hi = lo.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    return bool(lo.item() == hi.item())


def weights_agree(model: torch.nn.Module, info: DistInfo, device: torch.device) -> bool:
    """Whether every rank ended with the same weights (their float64 sums compared; True on one process)."""
    with torch.no_grad():
        checksum = float(sum(p.double().sum() for p in model.parameters()))
    return ranks_agree(checksum, info, device)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
