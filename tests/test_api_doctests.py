"""The examples of docs/how-to/python-api.md run as doctests, on the bundled sample data.

The page's ``pycon`` blocks are one doctest session (names carry from block to block), so
the page cannot show an output the code does not produce.
"""

from __future__ import annotations

import doctest
import re
import warnings
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "python-api.md"
BLOCK = re.compile(r"^```pycon\n(.*?)^```", re.S | re.M)


def page_examples() -> str:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5, f"{PAGE}: expected the page's pycon examples"
    return "\n".join(blocks)


def test_python_api_page_examples_run(monkeypatch):
    pytest.importorskip("pandas")  # the page's to_pandas() example; pandas is a test extra
    monkeypatch.delenv("GLUE_DIR", raising=False)
    test = doctest.DocTestParser().get_doctest(page_examples(), {}, PAGE.name, str(PAGE), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample is smaller than the official sets: said once
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0, f"{result.failed} example(s) of {PAGE} failed; see the output"
