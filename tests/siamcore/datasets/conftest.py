"""The image writers of :mod:`testkit.images`, given to the reader tests by the ``writers`` fixture."""

from __future__ import annotations

import types

import pytest

from testkit.images import voc_palette, write_frames, write_grey_png, write_indexed_png


@pytest.fixture(scope="session")
def writers():
    return types.SimpleNamespace(frames=write_frames, indexed_png=write_indexed_png, grey_png=write_grey_png,
                                 voc_palette=voc_palette)
