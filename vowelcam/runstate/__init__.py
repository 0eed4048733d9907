"""What makes a run directory trustworthy: one writer at a time, stage records by content, no leftovers.

- :mod:`.lock`: ``vowelcam.lock``, taken by every command that writes (pid and host of the holder; a stale lock
  of a dead process is taken over with a warning);
- :mod:`.files`: content fingerprints of files (size, mtime and SHA-256) and the temporary files of interrupted
  atomic writes;
- :mod:`.stages`: ``stages.json``: what each stage (train, cam, report) read and wrote, so that a stage is up to
  date only when its settings, the content of its inputs and every file it wrote are unchanged;
- :mod:`.replace`: ``analyze --model`` on a trained run: refused, or the model and everything derived replaced.

Nothing here imports torch or NumPy (but :mod:`.replace` when it loads a model to replace one with): the CLI
checks and locks a run before it loads them.
"""
