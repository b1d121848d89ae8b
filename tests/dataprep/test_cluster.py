"""The local Dask cluster dataprep starts: forked workers by default (cheap start), the dashboard only when
asked for, and then its link leads to charts, not a blank page."""

import sys
from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

import pytest

from dataprep.cluster import open_executor
from dataprep.malloc import set_malloc
from dataprep.config import DaskConfig


def test_local_cluster_dashboard_serves_its_status_page():
    with open_executor(DaskConfig(workers=1, dashboard=True), preload="dataprep.task") as executor:
        link = executor.dashboard
        assert "pip install bokeh" not in link  # bokeh comes with dataprep
        scheme, netloc, *_ = urlsplit(link)
        assert netloc.startswith("127.0.0.1:")  # never on all interfaces
        with urlopen(urlunsplit((scheme, netloc, "/status", "", "")), timeout=30) as response:
            status, page = response.status, response.read().decode("utf-8", "replace")
    assert status == 200
    assert "bokeh" in page.lower()  # the page that embeds the charts


MARK = "_dataprep_test_driver_state"


def _has_driver_state(_unused: str) -> bool:
    return getattr(sys, MARK, False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_default_workers_are_forked_copies_of_the_driver_without_dashboard():
    """A forked worker already holds what the driver imported (here: an attribute set on `sys`), a spawned
    one would import it all again (~0.7 CPU-s per worker)."""
    setattr(sys, MARK, True)  # state of this process only: a forked worker has it, a spawned one does not
    with open_executor(DaskConfig(workers=2), preload="dataprep.task") as executor:
        assert executor.dashboard is None and "forked" in executor.description
        imported = executor.client.run(_has_driver_state, "")
    assert list(imported.values()) == [True, True]


def test_spawned_workers_start_fresh():
    setattr(sys, MARK, True)
    with open_executor(DaskConfig(workers=1, start_method="spawn"), preload="dataprep.task") as executor:
        imported = executor.client.run(_has_driver_state, "")
    assert list(imported.values()) == [False]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_malloc_settings_apply_in_any_process():
    assert set_malloc(128 << 20, 64 << 20) is True


def _blur_once(_unused) -> bool:
    import cv2
    import numpy as np

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # what every shard task does first
    cv2.GaussianBlur(np.zeros((480, 640, 3), np.uint8), (0, 0), 2)
    cv2.setNumThreads(threads)
    return True


def test_forked_workers_do_not_hang_when_the_driver_used_opencv_threads():
    """A driver that used OpenCV's thread pool (here: a blur of a 720p frame with 2+ threads) forked
    workers whose first OpenCV call waited forever for pool threads that do not exist in them."""
    import cv2
    import numpy as np

    cv2.setNumThreads(2)
    cv2.GaussianBlur(np.zeros((720, 1280, 3), np.uint8), (0, 0), 2)  # starts the pool in this process
    with open_executor(DaskConfig(workers=2, start_method="fork"), preload="dataprep.task") as executor:
        futures = [executor.client.submit(_blur_once, i, pure=False) for i in range(2)]
        assert [f.result(timeout=60) for f in futures] == [True, True]
    assert cv2.getNumThreads() == 2  # the driver's setting is given back
