"""TOML in one place: the writer round-trips through tomllib with strings escaped; the reader and the
value typing are those of every config loader and of `--set` / `--grid`."""

from __future__ import annotations

import math
import tomllib

import pytest

from siamcore.toml import read_toml, toml_dumps, toml_value


def test_round_trip_with_quotes_backslashes_comment_and_special_floats():
    data = {"name": 'say "hi"\\now', "k": 0.16, "on": True, "n": 3, "xs": [1.5, 2.5],
            "table": {"key with space": "a\tb", "inner": {"v": -math.inf}}}
    text = toml_dumps(data, comment="tracker tune: best of 8\non held-out tracks")
    assert text.startswith("# tracker tune: best of 8\n# on held-out tracks\n")
    assert tomllib.loads(text) == data



def test_read_toml_names_the_file_in_the_callers_error_type(tmp_path):
    class MyConfigError(ValueError):
        pass

    good = tmp_path / "good.toml"
    good.write_text('name = "café"\n[t]\nk = 1\n', encoding="utf-8")
    assert read_toml(good, MyConfigError) == {"name": "café", "t": {"k": 1}}
    bad = tmp_path / "bad.toml"
    bad.write_text("k = = 1\n")
    with pytest.raises(MyConfigError, match=r"bad\.toml: not valid TOML"):
        read_toml(bad, MyConfigError)
    with pytest.raises(FileNotFoundError):
        read_toml(tmp_path / "missing.toml", MyConfigError)


@pytest.mark.parametrize("text, value", [
    ("0.3", 0.3), ("3", 3), ("true", True), ("[1, 2]", [1, 2]), ('"a b"', "a b"),
    ("seed", "seed"), ("runs/x", "runs/x"),
])
def test_toml_value_types_what_was_typed_or_keeps_the_text(text, value):
    assert toml_value(text) == value
    assert type(toml_value(text)) is type(value)
