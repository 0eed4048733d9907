"""The extraction stage: a corpus -> tokens.csv, problems.csv, speakers.csv and spectrograms in a run directory.

``run`` drives chunks of files (resumable, parallel), ``layout`` cuts the corpus into chunks (a long recording
into windows), ``chunk_plans`` plans a chunk's tokens, ``one_file`` extracts one recording, ``groups`` estimates
the group of speakers nobody named.
"""

from .run import ChunkShare, ExtractSummary, NoTokensError, extract

__all__ = ["ChunkShare", "ExtractSummary", "NoTokensError", "extract"]
