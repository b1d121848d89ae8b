"""The build configuration: one dataclass tree (:mod:`.schema`), loaded from TOML and overridden by the
CLI (:mod:`.load`), validated (:mod:`.validate`), hashed (:mod:`.hashing`), with its paths resolved
(:mod:`.paths`).

Precedence, highest first: command-line flags, the ``--config`` TOML file, environment variables
(for paths only), built-in defaults (equal to ``pipelines/dataprep/<dataset>.toml``). The dataset
lists here are views of the dataset registry (:mod:`dataprep.sources.registry`).
"""

from dataprep.config.hashing import canonical_json, canonical_sha256
from dataprep.config.load import (
    config_from_dict,
    load_config,
    parse_distractors_flag,
    split_names,
    with_overrides,
)
from dataprep.config.paths import (
    OUT_DEFAULT,
    OUT_ENV,
    ROOT_DEFAULT,
    ROOT_ENV,
    ResolvedPath,
    dataset_root,
    distractors_enabled,
    missing_root_message,
    resolve_distractors,
    resolve_out,
    resolve_root,
)
from dataprep.config.schema import (
    REFERENCE_SIZE,
    ROLES,
    SCALE_JITTERS,
    START_METHODS,
    AugmentConfig,
    BuildConfig,
    CocoConfig,
    ConfigError,
    DaskConfig,
    DistractorConfig,
    LimitsConfig,
    Mot17Config,
    OutputConfig,
    PairsConfig,
    PhotometricConfig,
    ViewConfig,
    VotConfig,
    default_views,
)
from dataprep.config.validate import validate
from dataprep.sources.registry import DATASET_DEFAULTS, DATASETS, FOLDER_DATASETS, FOLDER_SPLITS

__all__ = [
    "DATASETS", "DATASET_DEFAULTS", "FOLDER_DATASETS", "FOLDER_SPLITS", "OUT_DEFAULT", "OUT_ENV",
    "REFERENCE_SIZE", "ROLES", "ROOT_DEFAULT", "ROOT_ENV", "SCALE_JITTERS", "START_METHODS",
    "AugmentConfig", "BuildConfig", "CocoConfig", "ConfigError", "DaskConfig", "DistractorConfig",
    "LimitsConfig", "Mot17Config", "OutputConfig", "PairsConfig", "PhotometricConfig", "ResolvedPath",
    "ViewConfig", "VotConfig", "canonical_json", "canonical_sha256", "config_from_dict", "dataset_root",
    "default_views", "distractors_enabled", "load_config", "missing_root_message", "parse_distractors_flag",
    "resolve_distractors", "resolve_out", "resolve_root", "split_names", "validate", "with_overrides",
]
