"""The one strict config loader: a parsed TOML table -> a (nested) dataclass, checked key by key.

Every siamtrack configuration (dataprep's build config, the trainer's run config, the tracker's
hyper-parameters) is a dataclass tree read from TOML. :func:`build_dataclass` builds it and refuses
what a typo would otherwise silently turn into a default: unknown keys and values of the wrong type.
Errors are :class:`ConfigError` subclasses that carry the dotted key, so a package can word the
message its own way. Pure: no I/O.

Type rules (from the field annotations, read with :func:`typing.get_type_hints`): a nested dataclass
needs a table; ``dict[str, X]`` / ``list[X]`` check their items; ``X | None`` / ``Optional[X]`` take
``None`` or an ``X``; an int is accepted (and converted) for a float, a bool is never an int;
``Any`` takes anything.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A configuration that cannot be used as written; ``key`` is the dotted key ("" = the whole table)."""

    def __init__(self, message: str, key: str = ""):
        super().__init__(message)
        self.key = key


class UnknownKeyError(ConfigError):
    """Keys the dataclass does not have. ``unknown``: all of them in this table (dotted, table order);
    ``key``: the first; ``known``: the field names; ``section``: the first one is a top-level table."""

    def __init__(self, unknown: list[str], known: list[str], parent: str, section: bool):
        key = unknown[0]
        if section:
            message = f"unknown config section [{key}]; known sections: {', '.join(known)}"
        else:
            where = f" in [{parent}]" if parent else ""
            message = f"unknown config key {key}; known keys{where}: {', '.join(known)}"
        super().__init__(message, key)
        self.unknown, self.known, self.section = unknown, known, section


class WrongTypeError(ConfigError):
    """A value of the wrong type; ``expected`` names the type ("int", "a table", "a list", ...)."""

    def __init__(self, key: str, expected: str, value: Any):
        super().__init__(f"{key}: expected {expected}, got {type(value).__name__} ({value!r})", key)
        self.expected, self.value = expected, value


class MissingKeyError(ConfigError):
    """A field without a default that the table does not set."""

    def __init__(self, key: str):
        super().__init__(f"missing config key {key}", key)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def build_dataclass(cls: type, values: dict, where: str = "", base: Any = None) -> Any:
    """An instance of dataclass ``cls`` from ``values`` (a parsed TOML table), strictly checked.

    ``where``: the dotted key of this table, for messages. ``base``: an instance to overlay (keys the
    table leaves out keep ``base``'s values; nested dataclass tables overlay ``base``'s nested
    instance); without it they keep the dataclass defaults. Works for frozen dataclasses.
    """
    if not isinstance(values, dict):
        raise WrongTypeError(where, "a table", values)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in values if k not in fields]
    if unknown:
        raise UnknownKeyError([_join(where, k) for k in unknown], list(fields), where,
                              not where and isinstance(values[unknown[0]], dict))
    hints = typing.get_type_hints(cls)
    checked = {}
    for name, value in values.items():
        inner_base = getattr(base, name) if base is not None else None
        checked[name] = check_value(hints[name], value, _join(where, name), inner_base)
    if base is not None:
        return dataclasses.replace(base, **checked)
    for name, f in fields.items():
        if name not in checked and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise MissingKeyError(_join(where, name))
    return cls(**checked)


def check_value(tp: Any, value: Any, key: str, base: Any = None) -> Any:
    """``value`` checked against annotation ``tp`` (ints become floats for float fields)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]  # only Optional unions are supported
        return check_value(inner, value, key, base)
    if dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, key, base if dataclasses.is_dataclass(base) else None)
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise WrongTypeError(key, "a table", value)
        if origin is None:
            return value
        _, item_type = typing.get_args(tp)
        return {str(k): check_value(item_type, v, f"{key}.{k}") for k, v in value.items()}
    if tp is list or origin is list:
        if not isinstance(value, list):
            raise WrongTypeError(key, "a list", value)
        if origin is None:
            return value
        (item_type,) = typing.get_args(tp)
        return [check_value(item_type, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise WrongTypeError(key, getattr(tp, "__name__", str(tp)), value)
    return value


def merge_tables(defaults: dict, overrides: dict) -> dict:
    """``overrides`` over ``defaults``, table by table (a partial sub-table keeps the other default keys)."""
    out = dict(defaults)
    for k, v in overrides.items():
        out[k] = merge_tables(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
