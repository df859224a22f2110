"""Query depth and alias limits (§9), computed once per distinct document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter report through validation
messages we would have to parse to tell them from other validation errors; §12
gives them their own code (QUERY_TOO_COMPLEX), so we walk the AST ourselves. It
runs after validation (so fragments are acyclic) and memoizes each fragment, so a
"fragment bomb" costs linear time."""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


class _Walker:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[str, tuple[int, int]] = {}
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def measure(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        """(depth, aliases as executed: a fragment counts once per spread)."""
        if selection_set is None:
            return 0, 0
        depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                d, a = self.measure(selection.selection_set)
                depth, aliases = max(depth, d + 1), aliases + a + (selection.alias is not None)
            elif isinstance(selection, InlineFragmentNode):
                d, a = self.measure(selection.selection_set)
                depth, aliases = max(depth, d), aliases + a
            elif isinstance(selection, FragmentSpreadNode):
                d, a = self.fragment(selection.name.value)
                depth, aliases = max(depth, d), aliases + a
        return depth, aliases

    def fragment(self, name: str) -> tuple[int, int]:
        if name not in self.memo:
            self.memo[name] = (0, 0)  # guards a cycle, should validation ever let one by
            node = self.fragments.get(name)
            self.memo[name] = self.measure(node.selection_set) if node else (0, 0)
        return self.memo[name]


def complexity(document: DocumentNode) -> tuple[int, int]:
    """(deepest operation's depth, total aliases)."""
    walker = _Walker(document)
    results = [walker.measure(op.selection_set) for op in walker.operations]
    return max((d for d, _ in results), default=0), sum(a for _, a in results)
