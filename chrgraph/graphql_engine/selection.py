"""What a field's query selects, read from graphql-core's field nodes behind strawberry's
`Info` (a private attribute): list resolvers preload only what the query will read."""

from __future__ import annotations

from typing import Any


def selects(info: Any, *names: str) -> bool:
    """Whether the field's selection (at any depth, fragments included) names any of
    `names`: list resolvers preload only what the query will read."""
    wanted = set(names)
    raw = getattr(info, "_raw_info", info)  # strawberry's Info wraps graphql-core's
    fragments = raw.fragments
    stack = [node.selection_set for node in raw.field_nodes]
    seen: set[str] = set()
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            kind = selection.kind
            if kind == "field":
                if selection.name.value in wanted:
                    return True
                stack.append(selection.selection_set)
            elif kind == "inline_fragment":
                stack.append(selection.selection_set)
            elif kind == "fragment_spread" and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                stack.append(fragment.selection_set if fragment else None)
    return False
