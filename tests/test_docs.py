"""The documentation site: `mkdocs build --strict` succeeds offline, and the generated pages
follow the code (every CLI command and option from the parsers, the API from docstrings)."""

from __future__ import annotations

import argparse
import html
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import markdown
import pytest

from gluebench.benchmark import metrics, seed_stats, stats
from gluebench.cli.main import build_parser

REPO = Path(__file__).resolve().parents[1]
IMAGES = ("run-report.png", "report.png", "leaderboard.png", "sweep-report.png")
GUIDES = ("getting-started", "how-to/finetune-and-submit", "how-to/prompt-an-llm",
          "how-to/host-a-leaderboard", "how-to/sweep-on-ray", "how-to/compare-seeds",
          "how-to/analyse")
API_MODULES = (metrics, stats, seed_stats)
NO_NETWORK = "http://127.0.0.1:9"     # a proxy nobody listens on: any fetch fails the build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built once, strictly (any warning fails), with HTTP(S) pointed at nothing."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "HTTP_PROXY": NO_NETWORK, "HTTPS_PROXY": NO_NETWORK,
           "http_proxy": NO_NETWORK, "https_proxy": NO_NETWORK, "NO_PROXY": "", "no_proxy": "",
           "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def page_text(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


BLOCK_TAG = re.compile(r"</?(?:p|td|th|tr|h[1-6]|li|pre|div|br|table|thead|tbody)\b[^>]*>")


def visible_text(fragment: str) -> str:
    """What a reader sees: blocks apart, inline tags dropped, entities decoded, one space."""
    text = re.sub(r"<[^>]+>", "", BLOCK_TAG.sub(" ", fragment))
    return " ".join(html.unescape(text).split())


def command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (sub)command of the real parser, independently of the docs hook's walker."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from command_paths(sub, path + (name,))


def sections(page: str) -> dict[str, str]:
    """Each heading id of the CLI page -> the HTML up to the next h2/h3 heading."""
    marks = [(m.start(), m.group(1)) for m in re.finditer(r'<h[23] id="([^"]+)"', page)]
    ends = [start for start, _ in marks[1:]] + [len(page)]
    return {ident: page[start:end] for (start, ident), end in zip(marks, ends, strict=True)}


def test_every_page_and_image_is_built(site):
    for page in ("", *GUIDES, "reference/cli", "reference/python-api"):
        assert (site / page / "index.html").is_file(), page
    for image in IMAGES:
        assert (site / image).stat().st_size == (REPO / "docs" / image).stat().st_size
    shown = "".join(page_text(site, page) for page in ("", *GUIDES))
    assert all(f'src="{image}"' in shown or f'src="../{image}"' in shown or
               f'src="../../{image}"' in shown for image in IMAGES)


def test_pages_load_nothing_from_the_network(site):
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, page


def test_cli_reference_has_every_command_and_argument(site):
    found = sections(page_text(site, "reference/cli"))
    paths = list(command_paths(build_parser()))
    assert len(paths) >= 25                        # today: 24 commands + server and study actions
    for path, parser in paths:
        anchor = "-".join(path)
        assert anchor in found, f"gluebench {' '.join(path)} is missing from the CLI reference"
        section = visible_text(found[anchor])
        assert f"usage: gluebench {' '.join(path)}" in section
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.help is argparse.SUPPRESS or isinstance(
                    action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert formatter._format_action_invocation(action) in section, (path, action.dest)
            if action.help:
                described = " ".join(formatter._expand_help(action).split())
                assert described in section, (path, action.dest)


def test_cli_reference_index_links_every_command(site):
    page = page_text(site, "reference/cli")
    for path, _ in command_paths(build_parser()):
        assert f'href="#{"-".join(path)}"' in page, path


def _documented_functions(module):
    for name, obj in vars(module).items():
        if (not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                and obj.__module__ == module.__name__ and obj.__doc__):
            yield name, obj


def test_api_reference_renders_each_public_docstring(site):
    page = page_text(site, "reference/python-api")
    text = visible_text(page)
    for module in API_MODULES:
        assert f'id="{module.__name__}"' in page
        for name, obj in _documented_functions(module):
            assert f'id="{module.__name__}.{name}"' in page, f"{module.__name__}.{name}"
            first_line = inspect.getdoc(obj).splitlines()[0].replace("`", "").replace("*", "")
            assert " ".join(first_line.split()) in text, f"{module.__name__}.{name}"


def _hook():
    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  REPO / "docs" / "hooks" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_hook_shows_help_text_literally():
    """Help text with Markdown and HTML in it is shown as written, never interpreted."""
    parser = argparse.ArgumentParser(prog="tool")
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("do-it", help="a *summary*")
    child.add_argument("--mode", choices=["a", "b"], help="<script>x</script> | under_score "
                       "[link](http://x) `tick` #1 (default: %(default)s)", default="a")
    html_out = markdown.markdown(_hook().render(parser),
                                 extensions=["tables", "attr_list", "fenced_code"])
    assert 'id="do-it"' in html_out and "<script>" not in html_out
    assert ("&lt;script&gt;x&lt;/script&gt; | under_score [link](http://x) `tick` #1 "
            "(default: a)") in html_out
    assert "<code>--mode {a,b}</code>" in html_out
    assert "<em>a *summary*</em>" in html_out
