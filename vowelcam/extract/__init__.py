"""The extraction stage: a corpus -> tokens.csv, problems.csv, speakers.csv and spectrograms in a run directory.

``run`` drives chunks of files (resumable, parallel), ``one_file`` extracts one recording, ``groups`` estimates
the group of speakers nobody named.
"""

from .run import ChunkShare, ExtractSummary, NoTokensError, extract

__all__ = ["ChunkShare", "ExtractSummary", "NoTokensError", "extract"]
