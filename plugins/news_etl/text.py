"""Text on its way to a terminal or a log: what posts hide, shown as escapes.

Post text is stored plain (``clean.plain_text``), but a terminal or a log line must never receive
a character that moves the cursor, changes colours or reorders what is shown, whatever a warehouse
holds (an older version's rows, a value typed by hand, a file name). One function does it for the
CLI's tables, the summary, the dictionary, corpus-report and the task logs.
"""

from __future__ import annotations

import unicodedata

#: Characters a terminal must never receive raw from post text: controls (C0, C1, DEL), format
#: characters (bidi overrides and isolates U+202A–202E, U+2066–2069, marks, zero-width), line and
#: paragraph separators, surrogates, private use, unassigned.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def printable(text: str) -> str:
    """``text`` safe for a terminal: every unprintable character (see :data:`_UNPRINTABLE`) and the
    backslash written as a Python escape (``\\x1b``, ``\\u202e``, ``\\n``), so a value can
    never move the cursor, change colours or reorder what is shown, and the output stays unambiguous."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNPRINTABLE:
            code = ord(ch)
            out.append(
                {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch)
                or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
        else:
            out.append(ch)
    return "".join(out)
