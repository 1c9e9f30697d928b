"""Exports of a finished run for other tools: per-example samples (JSONL) and model cards."""
