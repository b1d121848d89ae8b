"""The one TOML writer: what it writes reads back the same through tomllib, strings escaped."""

from __future__ import annotations

import math
import tomllib

from siamcore.toml import toml_dumps


def test_round_trip_with_quotes_backslashes_comment_and_special_floats():
    data = {"name": 'say "hi"\\now', "k": 0.16, "on": True, "n": 3, "xs": [1.5, 2.5],
            "table": {"key with space": "a\tb", "inner": {"v": -math.inf}}}
    text = toml_dumps(data, comment="tracker tune: best of 8\non held-out tracks")
    assert text.startswith("# tracker tune: best of 8\n# on held-out tracks\n")
    assert tomllib.loads(text) == data

