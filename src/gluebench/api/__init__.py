"""The Python API: evaluate a model or score a folder of predictions from a notebook.

``gluebench.evaluate`` and ``gluebench.score`` (re-exported lazily by ``gluebench``) return
a ``Results``: the same document ``gluebench score --json`` writes, with tables, a pandas
view and the submission zip. See ``docs/how-to/python-api.md``.
"""

from __future__ import annotations

from gluebench.api.evaluation import evaluate, score
from gluebench.api.results import Results

__all__ = ["Results", "evaluate", "score"]
