"""What a user-given name may hold, and user text made safe to show in a terminal.

Names (of submissions, models, users) and other short texts people send end up in
terminals, tables and web pages. Two kinds of character do harm there without being seen:
control characters, which a terminal may act on (U+009B, a C1 control, starts an escape
sequence on its own, like ESC [), and the bidirectional formatting characters, which
reorder the text around them so that what is shown is not what is stored ("Trojan
Source", CVE-2021-42574). A name may hold neither; text that is shown anyway (rows a
server sends, older database rows) goes through ``for_terminal`` first.

>>> for_terminal("[red]evil\\u202e")
'\\\\[red]evil\\ufffd'
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL and the C1 controls (U+0080-U+009F).
CONTROLS = "\x00-\x1f\x7f-\x9f"
# The bidirectional formatting characters: embeddings and overrides (U+202A-U+202E),
# isolates (U+2066-U+2069), the marks (LRM, RLM, ALM), and the two Unicode line breaks.
BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
LINE_BREAKS = "\u2028\u2029"
UNSAFE = re.compile(f"[{CONTROLS}{BIDI}{LINE_BREAKS}]")
REPLACEMENT = "\ufffd"
WHY = "no control characters (U+0000-U+001F, U+007F-U+009F) or bidirectional formatting ones"


def unsafe_character(text: str, *, allow: str = "") -> str | None:
    """What is wrong with ``text`` in one phrase (its first unsafe character), or None.

    ``allow`` lists characters a longer text may hold (a description's newlines and tabs).
    """
    for match in UNSAFE.finditer(text):
        char = match.group()
        if char not in allow:
            name = unicodedata.name(char, "a control character")
            return (f"U+{ord(char):04X} ({name}) at character {match.start() + 1} is not "
                    f"allowed: {WHY}")
    return None


def check_name(text: str, what: str = "name") -> str:
    """``text`` unchanged when it is a safe name; ValueError saying why otherwise."""
    problem = unsafe_character(text)
    if problem is not None:
        raise ValueError(f"{what}: {problem}")
    return text


def printable(text: str) -> str:
    """``text`` with each control or bidirectional formatting character replaced by U+FFFD."""
    return UNSAFE.sub(REPLACEMENT, text)


def for_terminal(text: object) -> str:
    """Text someone else supplied, ready for a rich table or ``console.print``: its
    characters made ``printable`` and its square brackets not taken for rich markup."""
    from rich.markup import escape

    return escape(printable(str(text)))
