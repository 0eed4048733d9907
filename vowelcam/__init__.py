"""vowelcam: what does a neural network hear when it classifies vowels?

Pipeline: corpus (audio + TextGrids) -> tokens (Praat measurements) -> spectrograms -> ResNet -> predictions
-> class activation maps read in Hz -> band metrics against formants -> PDF report.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "classify"]


def classify(*args, **kwargs):
    """Classify the vowels of one recording; see :func:`vowelcam.learn.classify.classify`."""
    from .learn.classify import classify as _classify

    return _classify(*args, **kwargs)
