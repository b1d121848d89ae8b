"""Exit codes and the error line of the three command-line tools (README: "Command-line conventions").

One home, so that a script driving ``dataprep``, ``trainer`` and ``tracker`` reads the same code for the
same outcome from each. No rich import here (siamcore does not depend on it): :func:`fail` is given the
caller's console.
"""

from __future__ import annotations

from typing import NoReturn

EXIT_FAILED = 1  # the command was valid but the work failed (shard tasks, no frame read, no sequence tracked)
EXIT_USAGE = 2  # refused before any work: bad option, config, input path or output folder (click's code)
EXIT_STRICT_SKIPS = 3  # dataprep build --strict: the build finished but skipped inputs
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), after the work done so far was saved


def fail(console, message: object, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` on ``console`` (a rich Console) and exit with ``code``.

    The message is printed without markup: it quotes paths, names and config keys, and rich would eat
    bracketed text such as ``[trian]`` or ``clip[1].mp4`` as markup."""
    console.print("[bold red]error:[/]", end=" ")
    console.print(str(message), markup=False)
    raise SystemExit(code)
