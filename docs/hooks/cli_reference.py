"""MkDocs hook: the CLI reference, rendered from gluebench's own argument parsers.

``docs/reference/cli.md`` holds the marker below; at build time it is replaced by every
command and subcommand of ``gluebench`` (found by walking the parser that ``gluebench``
itself builds): its one-line summary, usage, description and each argument group with the
help text ``--help`` prints. Nothing is copied by hand, so the page cannot go stale: a new
flag or command appears on the next build.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

MARKER = "<!-- gluebench-cli-reference -->"
USAGE_WIDTH = 88        # wrap usage lines as a terminal this wide would
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}#|])")


def build_parser() -> argparse.ArgumentParser:
    """The parser ``gluebench`` runs with, imported from this checkout's ``src/``."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from gluebench.cli.main import build_parser as gluebench_parser

    return gluebench_parser()


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, summary, parser) of every subcommand, depth first, in ``--help`` order."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        summaries = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            yield path + (name,), summaries.get(name, ""), sub
            yield from commands(sub, path + (name,))


def anchor(path: tuple[str, ...]) -> str:
    """The page anchor of a command: ``gluebench server add-user`` -> ``server-add-user``."""
    return "-".join(path)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "reference/cli.md":
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"reference/cli.md: expected the marker {MARKER} where the commands go")
    return markdown.replace(MARKER, render(build_parser()))


def render(parser: argparse.ArgumentParser) -> str:
    """Markdown for ``gluebench`` itself, an index, then every (sub)command."""
    parts = [_body(parser), _index(parser)]
    parts.extend(_command(path, summary, sub) for path, summary, sub in commands(parser))
    return "\n\n".join(parts) + "\n"


def _index(parser: argparse.ArgumentParser) -> str:
    rows = ["| Command | What it does |", "|---|---|"]
    for path, summary, sub in commands(parser):
        rows.append(f"| [`{sub.prog}`](#{anchor(path)}) | {_text(summary)} |")
    return "\n".join(rows)


def _command(path: tuple[str, ...], summary: str, parser: argparse.ArgumentParser) -> str:
    level = "#" * min(len(path) + 1, 6)
    heading = f"{level} {_text(parser.prog)} {{ #{anchor(path)} }}"
    summary_line = [f"*{_text(summary)}*"] if summary else []
    children = [f"[`{sub[-1]}`](#{anchor(sub)})" for sub, _, _ in commands(parser, path)
                if len(sub) == len(path) + 1]
    listed = ["Subcommands: " + ", ".join(children) + "."] if children else []
    return "\n\n".join([heading, *summary_line, _body(parser), *listed])


def _body(parser: argparse.ArgumentParser) -> str:
    """Usage, description and argument groups, in the order ``--help`` prints them."""
    lines = [_usage_block(parser)]
    if parser.description:
        lines.append(_text(parser.description))
    lines.extend(_group(parser, group) for group in parser._action_groups
                 if _visible(group._group_actions))
    return "\n\n".join(lines)


def _usage_block(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return "```text\n" + formatter.format_help().strip() + "\n```"


def _visible(actions) -> list[argparse.Action]:
    """The arguments worth a row: not hidden, not ``-h`` (every command has it)."""
    hidden = (argparse._SubParsersAction, argparse._HelpAction)
    return [a for a in actions if a.help is not argparse.SUPPRESS and not isinstance(a, hidden)]


def _group(parser: argparse.ArgumentParser, group) -> str:
    """One argument group as a table: the flags as ``--help`` spells them, and their help."""
    formatter = parser._get_formatter()
    rows = [f"**{_text(group.title.capitalize())}**", "", "| Argument | Description |",
            "|---|---|"]
    for action in _visible(group._group_actions):
        flags = formatter._format_action_invocation(action)
        described = formatter._expand_help(action) if action.help else ""
        rows.append(f"| {_code(flags)} | {_text(described)} |")
    return "\n".join(rows)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _code(text: str) -> str:
    """Flags as a code span (a ``|`` inside one does not split a table cell)."""
    return f"`{_one_line(text)}`"


def _text(text: str) -> str:
    """Help text shown literally: escaped for HTML and for Markdown's own markup."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(_one_line(text), quote=False))
