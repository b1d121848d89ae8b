"""A small model registry (timm-style): ``@register_model``, ``create_model``, ``list_models``.

A model class registers under its ``name`` attribute (or an explicit name) plus optional
aliases, e.g. SiamFC also answers to ``"siamfc-alexnet"``, the name in the shipped weights file.

A registered class carries its own facts, so that a new model is one module and nothing else keys on
its name: ``online_tracker`` (``"siamfc"``: the score map and scale search; ``"rpn"``: default boxes
and their post-processing), ``tracking_defaults`` (the hyper-parameters where they differ from its
family's published values) and ``foreign_names`` (weights files of other toolkits it converts, see
:func:`tracker.weights.load_model`). :func:`model_class` reads them without building the model.
"""

from __future__ import annotations

from typing import Callable

_MODELS: dict[str, Callable] = {}
_ALIASES: dict[str, str] = {}


def register_model(obj=None, *, name: str | None = None, aliases: tuple[str, ...] = ()):
    """Register a model class or factory; use bare (``@register_model``) or with arguments."""

    def add(fn):
        key = name or getattr(fn, "name", None) or fn.__name__.lower()
        if key in _MODELS or key in _ALIASES:
            raise ValueError(f"model {key!r} is already registered")
        _MODELS[key] = fn
        for alias in aliases:
            _ALIASES[alias] = key
        return fn

    return add(obj) if obj is not None else add


def resolve_name(name: str) -> str:
    """The registry name for ``name`` or one of its aliases."""
    key = _ALIASES.get(name, name)
    if key not in _MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return key


def model_class(name: str):
    """The registered class (or factory) of ``name`` or one of its aliases: its facts, unbuilt."""
    return _MODELS[resolve_name(name)]


def create_model(name: str, **kwargs):
    """Build a registered model by name (or alias) with its constructor kwargs."""
    return _MODELS[resolve_name(name)](**kwargs)


def list_models() -> list[str]:
    return sorted(_MODELS)
