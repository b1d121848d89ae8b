"""Atomic writes: complete file or the old one, never half a file, no temp files left behind."""

import json

import pytest

from siamcore.atomic import TEMP_MARK, atomic_open, atomic_path, write_bytes_atomic, write_json_atomic


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
