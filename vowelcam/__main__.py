"""``python -m vowelcam`` (and ``torchrun -m vowelcam``) runs the command line."""

from .cli import app

app()
