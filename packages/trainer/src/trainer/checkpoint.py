"""Atomic, pickle-free checkpoints that resume a run exactly.

A checkpoint is a ``torch.save`` of tensors and plain Python values only (loadable with
``weights_only=True``): model and optimiser state dicts, the step counters and data position
(epoch, batches done in the epoch), RNG states as uint8 tensors, and the resolved config as a
dict (to refuse resuming with another model). Written to a temp file in the same folder, fsynced
and renamed, so a crash never leaves a half-written ``step_*.pt``; older ones beyond ``keep`` go.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from siamcore.atomic import atomic_open

CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step_(\d{9})\.pt$")


def atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_open(path) as f:
        torch.save(obj, f)


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:09d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(state: dict[str, Any], run_dir: Path, step: int, keep: int) -> Path:
    """Write ``state`` as the checkpoint of ``step`` and keep only the newest ``keep``."""
    path = checkpoint_path(run_dir, step)
    atomic_torch_save(state, path)
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=map_location, weights_only=True)


def rng_state() -> dict[str, Any]:
    """Torch RNG states as tensors (the trainer draws no other global randomness)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
