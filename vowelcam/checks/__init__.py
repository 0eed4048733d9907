"""What vowelcam checks before it trusts something: setting values (:mod:`.settings_rules`), stored arrays
(:mod:`.checksums`: a SHA-256 written beside each array and verified once per process on load; :mod:`.finite`:
NaN/inf named by shard and token) and operating-system faults turned into one line (:mod:`.faults`).

Nothing here imports torch, Praat or the stages: the command line uses these checks at start-up.
"""
