"""``python -m trainer``: the same command as ``trainer``, for environments without the console script on PATH,
and for ``torchrun --nproc_per_node N -m trainer fit ...``."""

from trainer.cli import main

if __name__ == "__main__":
    main()
