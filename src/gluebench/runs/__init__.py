"""Run state: run directory, recording, resume, lock, progress, hashes, cache, unit loop."""
