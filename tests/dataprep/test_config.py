"""Build config: TOML loading, strict keys, precedence (flags > file > env > defaults), paths."""

import re
from pathlib import Path

import pytest

from dataprep import config as C

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("dataset", C.DATASETS)
def test_pipeline_files_equal_the_built_in_defaults(dataset):
    from_file = C.load_config(REPO / "pipelines" / "dataprep" / f"{dataset}.toml")
    assert from_file == C.load_config(None, dataset)
    assert from_file.views["exemplar"] == C.ViewConfig("exemplar", 127, 0.5)
    assert from_file.views["search"] == C.ViewConfig("search", 255, 1.5)


def test_every_dataset_has_a_pipeline_file_that_loads():
    files = sorted((REPO / "pipelines" / "dataprep").glob("*.toml"))
    assert sorted(f.stem for f in files) == sorted(C.DATASETS)
    for f in files:
        assert C.load_config(f).dataset == f.stem


def test_documented_extra_views_load_when_uncommented(tmp_path):
    text = (REPO / "pipelines" / "dataprep" / "trackingnet.toml").read_text()
    head, extra = text.split("# Extra views for other models", 1)
    settings = re.compile(r"# (\[views\.\w+\]|(role|size|context|extent) = .*)$")
    uncommented = [m.group(1) for line in extra.splitlines() if (m := settings.match(line))]
    path = tmp_path / "c.toml"
    path.write_text(head + "\n".join(uncommented) + "\n")
    cfg = C.load_config(path)
    assert cfg.views["exemplar_tight"] == C.ViewConfig("exemplar", 63, 0.1)
    assert cfg.views["search_wide"] == C.ViewConfig("search", 255, 2.0)
    assert cfg.views["exemplar_wide"] == C.ViewConfig("exemplar", 255, 1.5)
    assert cfg.primary_view("search") == "search"
    assert list(cfg.views_by_role("exemplar")) == ["exemplar", "exemplar_tight", "exemplar_wide"]
    assert cfg.views["search_siamfc"].extent == pytest.approx(255 / 127)


@pytest.mark.parametrize(
    "toml, msg",
    [
        # an unknown key is named
        ('dataset = "trackingnet"\nseeed = 1\n', "unknown key 'seeed'"),
        ('dataset = "trackingnet"\n[pairs]\nper_sequnce = 3\n', "unknown key 'pairs.per_sequnce'"),
        ('dataset = "trackingnet"\n[views.x]\nrole = "search"\nsize = 255\ncontext = 1.5\nzoom = 2\n',
         "unknown key 'views.x.zoom'"),
        ('dataset = "trackingnet"\n[daskk]\nworkers = 1\n', "unknown key 'daskk'"),
        # bad values
        ('dataset = "trackingnet"\n[pairs]\nper_sequence = "8"\n', "'pairs.per_sequence' must be int"),
        ('dataset = "trackingnet"\n[pairs]\np_negative = 1.5\n', "p_negative"),
        ('dataset = "coco2"\n', "'dataset' must be one of"),
        ('dataset = "vid"\nchunks = "0-3"\n', "TrackingNet only"),
        ('dataset = "trackingnet"\nchunks = "0-12"\n', "0..11"),
        ('dataset = "trackingnet"\n[views.only]\nrole = "exemplar"\nsize = 127\ncontext = 0.5\n', "role 'search'"),
        ('dataset = "trackingnet"\n[dask]\nscheduler = "remote"\n', "tcp://"),
        ("seed = 3\n", "missing 'dataset'"),
    ],
)
def test_bad_config_files_are_errors_that_say_what_to_fix(tmp_path, toml, msg):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(C.ConfigError, match=msg):
        C.load_config(path)


def test_flags_override_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('dataset = "trackingnet"\nseed = 5\nchunks = "0-1"\n[pairs]\nper_sequence = 3\n[dask]\nworkers = 4\n')
    cfg = C.with_overrides(C.load_config(path), seed=7, pairs_per_sequence=2, chunks="4", workers=1,
                           scheduler="synchronous", root=tmp_path)
    assert (cfg.seed, cfg.pairs.per_sequence, cfg.chunks) == (7, 2, "4")
    assert (cfg.dask.workers, cfg.dask.scheduler, cfg.root) == (1, "synchronous", str(tmp_path))
    unchanged = C.with_overrides(C.load_config(path))
    assert (unchanged.seed, unchanged.pairs.per_sequence, unchanged.dask.workers) == (5, 3, 4)


def test_dataset_flag_must_match_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('dataset = "vid"\n')
    with pytest.raises(C.ConfigError, match="for dataset 'vid'"):
        C.load_config(path, "trackingnet")


def test_hash_covers_output_settings_only(tmp_path):
    base = C.load_config(None, "trackingnet")
    assert C.with_overrides(base, root=tmp_path, out=tmp_path, workers=7, scheduler="synchronous").sha256() == base.sha256()
    assert C.with_overrides(base, seed=1).sha256() != base.sha256()
    assert C.with_overrides(base, pairs_per_sequence=2).sha256() != base.sha256()


def test_limits_default_to_the_readers_limits_and_are_checked(tmp_path):
    """A raised limit can turn a skipped frame into pairs, so the limits are hashed; the defaults are
    the readers' own (the same numbers when a frame is read outside a build)."""
    from dataprep.sources.base import MAX_FRAME_BYTES, MAX_FRAME_PIXELS

    base = C.load_config(None, "trackingnet")
    assert (base.limits.max_frame_pixels, base.limits.max_frame_bytes) == (MAX_FRAME_PIXELS, MAX_FRAME_BYTES)
    assert base.replace(limits=C.LimitsConfig(max_frame_pixels=10**8)).sha256() != base.sha256()
    path = tmp_path / "c.toml"
    path.write_text('dataset = "trackingnet"\n[limits]\nmax_frame_pixels = 0\n')
    with pytest.raises(C.ConfigError, match=r"limits\.max_frame_pixels.*>= 1"):
        C.load_config(path)


def test_root_and_out_precedence(tmp_path):
    cfg = C.load_config(None, "trackingnet")
    env = {"SIAMTRACK_TRACKINGNET_ROOT": str(tmp_path / "env_root"), "SIAMTRACK_DATA_OUT": str(tmp_path / "o")}
    assert C.resolve_root(cfg, env).path == tmp_path / "env_root"
    assert C.resolve_out(cfg, env).path == tmp_path / "o" / "trackingnet"
    assert C.resolve_root(cfg, {}).path == Path("data/trackingnet").absolute()
    assert C.resolve_out(cfg, {}).path == Path("shards/trackingnet").absolute()
    explicit = cfg.replace(root=str(tmp_path / "cli"), out=str(tmp_path / "cli_out"))
    assert C.resolve_root(explicit, env).path == tmp_path / "cli"
    assert C.resolve_out(explicit, env).path == tmp_path / "cli_out"
    vid = C.load_config(None, "vid")
    assert C.resolve_root(vid, {"SIAMTRACK_VID_ROOT": "/x/vid"}).path == Path("/x/vid")
    assert vid.splits == ["train"]


def test_missing_root_message_says_where_and_how():
    cfg = C.load_config(None, "vid")
    msg = C.missing_root_message(cfg, C.resolve_root(cfg, {"SIAMTRACK_VID_ROOT": "/nowhere/vid"}))
    assert "/nowhere/vid" in msg and "$SIAMTRACK_VID_ROOT" in msg and "--root" in msg
