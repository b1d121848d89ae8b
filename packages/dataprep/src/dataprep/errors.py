"""The errors of ``dataprep build``, by what the CLI does with them: exit 2 (fix the command) for a
:class:`BuildError`, exit 1 (the work failed) for a :class:`ShardsFailed`."""

from __future__ import annotations


class BuildError(Exception):
    """A fatal problem found before any work (bad root, chunk or sequence, refused OUT, unusable
    cluster); the message says what to do. The CLI exits 2 (fix the command), as for a usage error."""


class ShardsFailed(BuildError):
    """Shard tasks failed while building: the command was right but the work failed, so the CLI exits 1."""


class OutputWriteFailed(ShardsFailed):
    """OUT cannot be written (disk full, quota, read-only, I/O error): the build stops at the first
    such failure, since every other shard would fail the same way. The CLI exits 1."""


def output_failure_message(failure: str) -> str:
    return (f"{failure}. The build stopped there; finished shards are kept: free space (or fix the folder) and "
            f"run the same command again to resume.")
