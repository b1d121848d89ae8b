"""Where a build reads and writes: the dataset root, the output folder and the distractor bank, each
with where its value came from (for messages).

- dataset root: ``--root``, else ``root`` in the config, else ``$SIAMTRACK_<NAME>_ROOT`` (:data:`ROOT_ENV`),
  else the dataset's default (:data:`ROOT_DEFAULT`, e.g. ``./data/trackingnet``).
- distractor bank (``[distractors]``): see :class:`~dataprep.config.schema.DistractorConfig`.
- output folder: ``--out``, else ``out`` in the config, else ``$SIAMTRACK_DATA_OUT/<dataset>``,
  else ``./shards/<dataset>``.

Relative paths are relative to the current directory.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from dataprep.config.schema import BuildConfig
from dataprep.sources.registry import SPECS

ROOT_ENV = {name: spec.root_env for name, spec in SPECS.items()}
ROOT_DEFAULT = {name: spec.root_default for name, spec in SPECS.items()}
OUT_ENV = "SIAMTRACK_DATA_OUT"
OUT_DEFAULT = "shards"


def distractors_enabled(cfg: BuildConfig) -> bool:
    return cfg.distractors.source == "coco" and cfg.distractors.p_distractor > 0


def resolve_distractors(cfg: BuildConfig, build_root: Path, environ=os.environ) -> BuildConfig:
    """Make the distractor bank explicit: ``root`` absolute, ``split`` named (see :class:`DistractorConfig`)."""
    t = cfg.distractors
    if not distractors_enabled(cfg):
        return cfg.replace(distractors=dataclasses.replace(t, source="none" if t.source == "" else t.source,
                                                           root=None))
    own_dataset = cfg.dataset == t.source  # a COCO build pastes from its own folder by default
    if t.root is None and own_dataset:
        root = Path(build_root).absolute()
    else:
        root = dataset_root(t.source, t.root, environ).path
    split = t.split
    if split is None:
        own = own_dataset and cfg.splits and root == Path(build_root).absolute()
        if own:
            split = cfg.splits[0]
        else:  # train2017, or the only split the folder has
            from dataprep.sources.coco import present_splits

            present = present_splits(root)
            split = present[0] if len(present) == 1 else "train2017"
    return cfg.replace(distractors=dataclasses.replace(t, root=str(root), split=split))


# --- paths --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPath:
    path: Path
    origin: str  # human-readable: where the value came from


def resolve_root(cfg: BuildConfig, environ=os.environ) -> ResolvedPath:
    return dataset_root(cfg.dataset, cfg.root, environ)


def dataset_root(dataset: str, given: str | None, environ=os.environ) -> ResolvedPath:
    """The root of ``dataset``: ``given`` (flag or config), else its environment variable, else the default."""
    env = ROOT_ENV[dataset]
    if given is not None:
        return ResolvedPath(Path(given).expanduser().absolute(), "--root / config 'root'")
    if environ.get(env):
        return ResolvedPath(Path(environ[env]).expanduser().absolute(), f"${env}")
    return ResolvedPath(Path(ROOT_DEFAULT[dataset]).absolute(), f"the default ./{ROOT_DEFAULT[dataset]}")


def resolve_out(cfg: BuildConfig, environ=os.environ) -> ResolvedPath:
    if cfg.out is not None:
        return ResolvedPath(Path(cfg.out).expanduser().absolute(), "--out / config 'out'")
    if environ.get(OUT_ENV):
        return ResolvedPath(Path(environ[OUT_ENV]).expanduser().absolute() / cfg.dataset, f"${OUT_ENV}/{cfg.dataset}")
    return ResolvedPath(Path(OUT_DEFAULT, cfg.dataset).absolute(), f"the default ./{OUT_DEFAULT}/{cfg.dataset}")


def missing_root_message(cfg: BuildConfig, root: ResolvedPath) -> str:
    env = ROOT_ENV[cfg.dataset]
    return (
        f"{cfg.dataset} root not found: looked in {root.path} (from {root.origin}). "
        f"Set it with --root DIR, with root = \"DIR\" in the --config file, or with the environment "
        f"variable {env}=DIR."
    )
