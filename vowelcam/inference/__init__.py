"""Inference over a whole corpus: every vowel token classified by a trained model, on any runner.

:func:`classify_corpus` (:mod:`.corpus`) is the client: it discovers the corpus, ships chunks of recordings and
writes the predictions and problems CSVs; :mod:`.chunk` is what a worker runs.
"""

from __future__ import annotations

from .corpus import CorpusPredictions, classify_corpus, problems_path

__all__ = ["CorpusPredictions", "classify_corpus", "problems_path"]
