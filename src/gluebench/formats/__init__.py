"""Strict parsing of bytes: the file formats benchmark data and predictions come in."""
