"""TOML in one place: reading a file (one error message for a file that is not TOML), typing a
command-line value as TOML, and writing, which :mod:`tomllib` lacks: enough for the configs and
tracking-parameter files the tools write (tables of scalars, lists and sub-tables). One writer, so that
every file escapes alike."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: str | Path, error: type[Exception]) -> dict[str, Any]:
    """The TOML file at ``path`` (UTF-8, as TOML requires) as a dict. A file that is not valid TOML raises
    ``error("<path>: not valid TOML: ...")``, the caller's config error type; FileNotFoundError passes
    through, for each caller says what kind of file was missing."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc


def toml_value(text: str) -> Any:
    """``text`` read as one TOML value (``0.3``, ``true``, ``[1, 2]``, ``"a b"``), or ``text`` itself when
    it is none: how ``--set key=value`` and ``--grid key=v1,v2`` type what was typed."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def toml_dumps(data: dict[str, Any], comment: str = "") -> str:
    """A nested dict of str/int/float/bool/lists/tables as TOML (round-trips through tomllib), under
    ``comment`` as ``#`` lines. Strings and keys are escaped."""
    lines: list[str] = []
    _write_table(lines, [], data)
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + "\n".join(lines).lstrip("\n") + "\n"


def _write_table(lines: list[str], path: list[str], table: dict[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append(f"[{'.'.join(_toml_key(p) for p in path)}]")
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in tables.items():
        _write_table(lines, [*path, k], v)


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return _toml_string(key)


def _toml_string(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} value {v!r} as TOML")
