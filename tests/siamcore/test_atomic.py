"""Atomic writes: complete file or the old one, never half a file, no temp files left behind."""

import json
import os
import stat

import pytest

from siamcore.atomic import (
    TEMP_MARK,
    atomic_open,
    atomic_path,
    current_umask,
    write_bytes_atomic,
    write_json_atomic,
)


def test_write_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "a.bin"
    write_bytes_atomic(path, b"one")
    write_bytes_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.bin"]


def test_an_exception_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(path) as f:
            f.write(b"half")
            raise RuntimeError("killed")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    seen = []
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "b.bin") as tmp:
            seen.append(tmp)
            tmp.write_bytes(b"x")
            assert tmp.name.startswith(".b.bin" + TEMP_MARK) and tmp.parent == tmp_path
            raise ValueError
    assert not seen[0].exists() and not (tmp_path / "b.bin").exists()


def test_json_is_stable_and_refuses_nan(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"b": 1.5, "a": [1, 2]})
    write_json_atomic(tmp_path / "b.json", {"a": [1, 2], "b": 1.5})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text()) == {"a": [1, 2], "b": 1.5}
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "c.json", {"x": float("nan")})
    assert not list(tmp_path.glob(".c.json*")) and not (tmp_path / "c.json").exists()


@pytest.fixture
def group_umask():
    """A umask other than the usual 022, so the expected mode cannot match by accident."""
    before = os.umask(0o027)
    yield 0o027
    os.umask(before)


@pytest.mark.parametrize("writer_mode", [0o600, 0o755])
def test_files_get_the_mode_open_would_give(tmp_path, group_umask, writer_mode):
    # Writers that create their own file (safetensors: 0600, LMDB: 0755) must not decide the mode.
    path = tmp_path / "w.bin"
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY, writer_mode)
        os.write(fd, b"x")
        os.close(fd)
        os.chmod(tmp, writer_mode)  # the umask may have removed bits; set exactly what the writer wants
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~group_umask == 0o640
    write_bytes_atomic(tmp_path / "b.bin", b"y")
    assert stat.S_IMODE((tmp_path / "b.bin").stat().st_mode) == 0o640
    assert current_umask() == group_umask
