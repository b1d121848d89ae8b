"""The two ways a ``tracker`` command ends early, typed so that the command line maps them to exit codes
(:mod:`siamcore.exits`) and the domain modules never exit themselves."""

from __future__ import annotations


class UsageError(ValueError):
    """Refused before any work (exit 2): a bad option, input path, output file, model or benchmark."""


class RunFailed(RuntimeError):
    """The command was valid but the work failed (exit 1): no frame read, no sequence tracked."""
