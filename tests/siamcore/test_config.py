"""siamcore.config.build_dataclass: the one strict TOML-table -> dataclass loader."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import pytest

from siamcore.config import (
    ConfigError,
    MissingKeyError,
    UnknownKeyError,
    WrongTypeError,
    build_dataclass,
    merge_tables,
)


@dataclass(frozen=True)
class View:
    role: str
    size: int
    context: float = 0.5


@dataclass(frozen=True)
class Pairs:
    per_sequence: int = 8
    p_negative: float = 0.2


@dataclass
class Train:
    batch_size: int = 16
    amp: bool = True
    lr: float = 1e-3


@dataclass(frozen=True)
class Root:
    name: str = "x"
    chunks: str | None = None
    splits: Optional[list[str]] = None
    pairs: Pairs = field(default_factory=Pairs)
    views: dict[str, View] = field(default_factory=dict)
    args: dict = field(default_factory=dict)


@dataclass
class Run:
    train: Train = field(default_factory=Train)
    pairs: Pairs = field(default_factory=Pairs)


def test_unknown_top_level_key_and_section_are_named():
    with pytest.raises(UnknownKeyError, match="unknown config key nmae") as info:
        build_dataclass(Root, {"name": "a", "nmae": "b", "zzz": 1})
    assert info.value.key == "nmae" and info.value.unknown == ["nmae", "zzz"] and not info.value.section
    assert "name" in info.value.known and "views" in info.value.known
    with pytest.raises(UnknownKeyError, match=r"unknown config section \[trian\]; known sections: train, pairs"):
        build_dataclass(Run, {"trian": {"batch_size": 8}})


def test_nested_unknown_key_has_the_dotted_name():
    with pytest.raises(UnknownKeyError, match=r"unknown config key train\.batch_sise; known keys in \[train\]"):
        build_dataclass(Run, {"train": {"batch_sise": 8}})
    with pytest.raises(UnknownKeyError) as info:
        build_dataclass(Root, {"views": {"x": {"role": "search", "size": 255, "zoom": 2}}})
    assert info.value.key == "views.x.zoom"


def test_wrong_types_are_refused_with_the_key():
    with pytest.raises(WrongTypeError, match="train.batch_size: expected int, got str") as info:
        build_dataclass(Run, {"train": {"batch_size": "8"}})
    assert (info.value.key, info.value.expected, info.value.value) == ("train.batch_size", "int", "8")
    with pytest.raises(WrongTypeError, match="pairs: expected a table, got int"):
        build_dataclass(Run, {"pairs": 3})
    with pytest.raises(WrongTypeError, match=r"splits\[1\]: expected str"):
        build_dataclass(Root, {"splits": ["train", 2]})
    with pytest.raises(WrongTypeError, match="splits: expected a list"):
        build_dataclass(Root, {"splits": "train"})
    with pytest.raises(WrongTypeError, match="train.amp: expected bool"):
        build_dataclass(Run, {"train": {"amp": 1}})
    assert issubclass(WrongTypeError, ConfigError) and issubclass(ConfigError, ValueError)


def test_int_is_accepted_for_float_but_bool_is_not_an_int():
    run = build_dataclass(Run, {"train": {"lr": 1}})
    assert run.train.lr == 1.0 and isinstance(run.train.lr, float)
    with pytest.raises(WrongTypeError, match="train.batch_size: expected int, got bool"):
        build_dataclass(Run, {"train": {"batch_size": True}})
    with pytest.raises(WrongTypeError, match="train.lr: expected float, got bool"):
        build_dataclass(Run, {"train": {"lr": False}})


def test_frozen_dataclasses_and_defaults():
    root = build_dataclass(Root, {"pairs": {"per_sequence": 3}})
    assert root == Root(pairs=Pairs(per_sequence=3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        root.name = "y"
    with pytest.raises(MissingKeyError, match="missing config key views.x.size"):
        build_dataclass(Root, {"views": {"x": {"role": "search"}}})


def test_dict_of_dataclasses_and_plain_dict():
    root = build_dataclass(Root, {"views": {"b": {"role": "search", "size": 255, "context": 2}},
                                  "args": {"width": 8, "deep": {"k": [1]}}})
    assert root.views == {"b": View("search", 255, 2.0)} and isinstance(root.views["b"].context, float)
    assert root.args == {"width": 8, "deep": {"k": [1]}}


def test_optional_fields():
    assert build_dataclass(Root, {}).chunks is None
    root = build_dataclass(Root, {"chunks": "0-3", "splits": ["train", "val"]})
    assert (root.chunks, root.splits) == ("0-3", ["train", "val"])
    with pytest.raises(WrongTypeError, match="chunks: expected str, got int"):
        build_dataclass(Root, {"chunks": 3})


def test_base_overlay_keeps_what_the_table_leaves_out():
    base = Run(train=Train(batch_size=4, lr=0.5))
    run = build_dataclass(Run, {"train": {"amp": False}}, base=base)
    assert run.train == Train(batch_size=4, amp=False, lr=0.5)
    assert base.train.amp is True  # the base is not modified
    frozen = build_dataclass(Pairs, {"p_negative": 0}, base=Pairs(per_sequence=2))
    assert frozen == Pairs(per_sequence=2, p_negative=0.0)


def test_merge_tables_is_table_by_table():
    defaults = {"a": 1, "t": {"x": 1, "y": 2}, "u": {"z": 3}}
    assert merge_tables(defaults, {"t": {"y": 5}, "u": 4, "b": 2}) == {"a": 1, "t": {"x": 1, "y": 5}, "u": 4, "b": 2}
    assert defaults["t"] == {"x": 1, "y": 2}
