"""Where a field is in a mapping file, so that a message can name its line.

>>> lines = yaml_lines("tables:\\n  orders:\\n    columns:\\n      placed_at: Date\\n")
>>> str(Where("shop.yaml", lines).at("tables", "orders", "columns", "placed_at"))
'shop.yaml line 4: tables.orders.columns.placed_at'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

Path = tuple[str, ...]


@dataclass(frozen=True)
class Where:
    """A field of a mapping file: the file, the field's path and the line it is on.

    A field the file does not write (a default) is placed at its nearest written parent.
    """

    origin: str
    lines: Mapping[Path, int] = field(default_factory=dict, repr=False, compare=False)
    path: Path = ()

    def at(self, *parts: str | int) -> Where:
        """The field `parts` below this one."""
        return Where(self.origin, self.lines, (*self.path, *(str(p) for p in parts)))

    @property
    def line(self) -> int | None:
        """The line of the field, else of its nearest parent in the file, if known."""
        for end in range(len(self.path), 0, -1):
            if self.path[:end] in self.lines:
                return self.lines[self.path[:end]]
        return None

    def __str__(self) -> str:
        line = self.line
        place = self.origin if line is None else f"{self.origin} line {line}"
        return f"{place}: {'.'.join(self.path)}" if self.path else place


def yaml_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of every key and list item of a YAML document, by its path."""
    lines: dict[Path, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines  # the loader reports the syntax error with its line
    _walk(root, (), lines)
    return lines


def _walk(node: yaml.Node | None, path: Path, lines: dict[Path, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines.setdefault(child, key.start_mark.line + 1)
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, str(index))
            lines.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, lines)
