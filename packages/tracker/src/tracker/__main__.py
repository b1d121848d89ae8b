"""``python -m tracker``: the same command as ``tracker``, for environments without the console script on PATH."""

from tracker.cli import main

if __name__ == "__main__":
    main()
