"""Trainer fixtures: tiny real shard folders (LMDB + build.json + samples.parquet), written by
:mod:`testkit.shards` (generated pairs) or by a real ``dataprep build`` of a generated TrackingNet chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.shards import ALL_VIEWS, SIAMRPN_VIEWS, build_generated_trackingnet, make_records, write_build


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Path:
    """12 sequences x 4 pairs, every model's views, 2 shards."""
    out = tmp_path_factory.mktemp("tiny_build")
    return write_build(out, make_records("synthetic", 12, 4, ALL_VIEWS), ALL_VIEWS)


@pytest.fixture(scope="session")
def rpn_build(tmp_path_factory) -> Path:
    """A second, SiamRPN-only folder (another dataset) for mixtures: 8 sequences x 3 pairs."""
    out = tmp_path_factory.mktemp("rpn_build")
    return write_build(out, make_records("other", 8, 3, SIAMRPN_VIEWS, seed=1), SIAMRPN_VIEWS, dataset="other")


@pytest.fixture(scope="session")
def dataprep_build(tmp_path_factory) -> Path:
    """A real ``dataprep build`` (synchronous scheduler) of a generated TrackingNet chunk, with the
    views of all three models: 6 sequences x 3 pairs in 2 shards."""
    return build_generated_trackingnet(tmp_path_factory.mktemp("dataprep_build"), sequences=6, frames=12,
                                       size=(160, 120), pairs_per_sequence=3, videos_per_shard=3)
