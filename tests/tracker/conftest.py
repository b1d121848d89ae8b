"""Fixtures shared by the tracker tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def two_threads():
    """At most 2 torch threads, as on the CI machine (and the benchmark's floor)."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(2, before))
    yield
    torch.set_num_threads(before)


def rehash_export_file(folder, key: str) -> None:
    """Record a file's current sha256 in an export's ``tracker.json`` (``key``: a graph role or
    ``default_boxes``), as if the export itself had written the changed file."""
    import json

    from siamcore.shards import file_sha256
    from tracker.onnx_export import SIDECAR

    info = json.loads((folder / SIDECAR).read_text())
    entry = info["graphs"][key] if key in ("template", "detect") else info[key]
    entry["sha256"] = file_sha256(folder / entry["file"])
    (folder / SIDECAR).write_text(json.dumps(info))
