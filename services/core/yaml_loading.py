"""YAML for configuration files, with aliases bounded.

PyYAML's safe loader follows aliases without limit: a recursive alias (`&a [*a]`)
builds a cyclic structure on which every later walk recurses until it crashes, and
a nine-line "billion laughs" (each list holding ten aliases of the previous one)
expands to 10^9 nodes for whatever walks it: 3 GB and 30 s before it was refused.
`BoundedLoader` refuses both while composing, with the line of the alias at fault:
an alias to a node that contains it, and any document whose size with every alias
expanded passes `MAX_EXPANDED_NODES`. Nesting deeper than the parser's recursion
allows is refused the same way (`load_config_yaml` turns it into a YAMLError).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError

MAX_EXPANDED_NODES = 100_000  # a large workspace is a few thousand


class BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses recursive aliases and alias bombs (see the module)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._open_anchors: set[str] = set()
        self._sizes: dict[int, int] = {}
        self._expanded = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if isinstance(event, yaml.AliasEvent):
            anchor = event.anchor
            if anchor in self._open_anchors:
                raise ComposerError(
                    None,
                    None,
                    f"recursive alias *{anchor}: it refers to a node that contains it",
                    event.start_mark,  # type: ignore[arg-type]  # libyaml's Mark is alike
                )
            node = super().compose_node(parent, index)
            if node is not None:
                self._count(self._size(node), event.start_mark)
            return node
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            if anchor is not None:
                self._open_anchors.discard(anchor)
        self._count(1, event.start_mark)
        return node

    def _count(self, nodes: int, mark: Any) -> None:
        self._expanded += nodes
        if self._expanded > MAX_EXPANDED_NODES:
            raise ComposerError(
                None,
                None,
                f"aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                "(an alias bomb?); write the values out instead",
                mark,
            )

    def _size(self, node: yaml.Node) -> int:
        """How many nodes `node` stands for with its aliases expanded (memoised: a
        node composed once is shared by every alias to it)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._size(k) + self._size(v) for k, v in node.value)
        self._sizes[id(node)] = size
        return min(size, MAX_EXPANDED_NODES + 1)


def safe_load_bounded(text: str) -> Any:
    """`yaml.safe_load` with bounded aliases and nesting: raises yaml.YAMLError."""
    return load_config_yaml(text)[1]


def load_config_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Composes and constructs one YAML document with bounded aliases: (node, data).
    Raises yaml.YAMLError (with a mark when the parser has one) for any mistake."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise yaml.YAMLError("the document is nested too deeply") from None
    finally:
        loader.dispose()
    return node, data
