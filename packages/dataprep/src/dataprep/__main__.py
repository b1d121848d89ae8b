"""``python -m dataprep``: the same command as ``dataprep``, for environments without the console script on PATH."""

from dataprep.cli import main

if __name__ == "__main__":
    main()
