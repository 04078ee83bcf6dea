"""A Griffe extension (``extensions:`` of mkdocstrings in mkdocs.yml) that turns the doctest examples of the
docstrings into code blocks on the API pages.

Outside an ``Examples:`` section, Google-style docstrings leave ``>>>`` lines to Markdown, which reads them as
three nested blockquotes of run-on text. Each run of ``>>>`` / ``...`` lines and the output lines after it (up
to a blank line) is wrapped in a ```` ```pycon ```` fence instead, keeping its indentation.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

PROMPT = re.compile(r"^(?P<indent>\s*)>>>( |$)")


def fence_doctests(text: str) -> str:
    """Wrap every doctest block of ``text`` (prompt lines and their output, up to a blank line) in a fence."""
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else PROMPT.match(line)
        if match is None:
            out.append(line)
            i += 1
            continue
        indent = match["indent"]
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        out += ["", f"{indent}```pycon", *block, f"{indent}```", ""]
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the ``>>>`` examples of every docstring Griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
