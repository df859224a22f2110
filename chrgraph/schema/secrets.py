"""Secrets declared in the schema, and where they sit in a document.

`@secret` marks an argument, input field or output field whose value must never reach
a log row (passwords, invitation and session tokens, ...): `directives=[Secret()]` on
`strawberry.field` or `strawberry.argument`. `plan_redaction` walks a parsed, validated
document with the schema's types and returns what the API log must redact in it —
literals (block strings included), variables of any name that feed a secret (through
nested input objects and lists), their default values, and the response keys (aliases
included) of secret output fields — once per document (the endpoint caches it with the
document). `unplanned` is the fallback for a document that did not parse or validate:
every string literal and every variable value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import (
    SKIP,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Source,
    TokenKind,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    type_from_ast,
    visit,
)
from graphql.language import Lexer
from strawberry.schema_directive import Location

from chrgraph.audit.redact import RedactionPlan, Shape

_DEFINITION = "strawberry-definition"  # where strawberry keeps its field on graphql-core's


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION, Location.INPUT_FIELD_DEFINITION, Location.FIELD_DEFINITION],
    description="A secret: never written to a log row (the API log stores `[REDACTED]`).",
)
class Secret:
    pass


def is_secret(definition: Any) -> bool:
    """Whether a graphql-core field, input field or argument is declared `@secret`."""
    extensions = getattr(definition, "extensions", None) or {}
    own = extensions.get(_DEFINITION)
    return any(isinstance(d, Secret) for d in getattr(own, "directives", None) or ())


class SecretShapes:
    """Per schema: which members of each input type are secret (memoized)."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._inputs: dict[str, Shape | None] = {}

    def of_input(self, named: Any) -> Shape | None:
        if not isinstance(named, GraphQLInputObjectType):
            return None
        if named.name in self._inputs:
            return self._inputs[named.name]
        self._inputs[named.name] = None  # a recursive input type: its own members, once
        shape: dict[str, Shape] = {}
        for name, member in named.fields.items():
            if is_secret(member):
                shape[name] = True
            else:
                inner = self.of_input(get_named_type(member.type))
                if inner:
                    shape[name] = inner
        self._inputs[named.name] = shape or None
        return shape or None

    def plan(self, document: DocumentNode) -> RedactionPlan:
        return plan_redaction(self, document)


def plan_redaction(shapes: SecretShapes, document: DocumentNode) -> RedactionPlan:
    schema = shapes.schema
    finder = _Inputs()
    finder.type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(finder.type_info, finder))
    variables: dict[str, Shape] = {}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    response: dict[str, Shape] = {}
    memo: dict[str, dict[str, Shape]] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for variable in definition.variable_definitions or ():
            name = variable.variable.name.value
            if name in finder.secret_variables:
                variables[name] = True
                if variable.default_value is not None:
                    finder.take(variable.default_value)
            elif name not in variables:
                shape = shapes.of_input(get_named_type(type_from_ast(schema, variable.type)))
                if shape:
                    variables[name] = shape
        root = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }[definition.operation]
        if root is not None:
            _outputs(schema, definition.selection_set, root, fragments, response, memo)
    spans = sorted(set(finder.spans))
    return RedactionPlan(
        literals=tuple((s, e) for s, e, _ in spans),
        literal_values=tuple(v for _, _, v in spans),
        variables=variables,
        response=response,
    )


class _Inputs(Visitor):
    """Secret arguments and input fields: the literals they hold, the variables they read."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[int, int, str]] = []
        self.secret_variables: set[str] = set()
        self.type_info: TypeInfo | None = None

    def take(self, value: ValueNode) -> None:
        """Everything in a secret value: its literals, and its variables as secret."""
        if isinstance(value, VariableNode):
            self.secret_variables.add(value.name.value)
        elif isinstance(value, ListValueNode):
            for item in value.values:
                self.take(item)
        elif isinstance(value, ObjectValueNode):
            for member in value.fields:
                self.take(member.value)
        elif value.loc is not None and hasattr(value, "value"):
            self.spans.append((value.loc.start, value.loc.end, str(value.value)))

    def enter_argument(self, node, *_args) -> Any:
        # TypeInfo has entered the argument already: it is the current one.
        assert self.type_info is not None
        if is_secret(self.type_info.get_argument()):
            self.take(node.value)
            return SKIP
        return None

    def enter_object_field(self, node, *_args) -> Any:
        assert self.type_info is not None
        parent = get_named_type(self.type_info.get_parent_input_type())
        member = parent.fields.get(node.name.value) if isinstance(parent, GraphQLInputObjectType) else None
        if is_secret(member):
            self.take(node.value)
            return SKIP
        return None


def _outputs(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode | None,
    parent: Any,
    fragments: Mapping[str, FragmentDefinitionNode],
    into: dict[str, Shape],
    memo: dict[str, dict[str, Shape]],
) -> None:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields = parent.fields if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)) else {}
            definition = fields.get(selection.name.value)
            if definition is None:
                continue  # __typename and the like
            key = selection.alias.value if selection.alias else selection.name.value
            if is_secret(definition):
                into[key] = True
            elif selection.selection_set is not None and into.get(key) is not True:
                inner: dict[str, Shape] = {}
                _outputs(schema, selection.selection_set, get_named_type(definition.type), fragments, inner, memo)
                if inner:
                    _merge(into, key, inner)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            _outputs(schema, selection.selection_set, target, fragments, into, memo)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in memo:
                memo[name] = {}  # validated documents have no cycles; this guards anyway
                fragment = fragments.get(name)
                if fragment is not None:
                    own: dict[str, Shape] = {}
                    target = schema.get_type(fragment.type_condition.name.value)
                    _outputs(schema, fragment.selection_set, target, fragments, own, memo)
                    memo[name] = own
            for key, shape in memo[name].items():
                _merge(into, key, shape)


def _merge(into: dict[str, Shape], key: str, shape: Shape) -> None:
    have = into.get(key)
    if have is True or shape is True or not isinstance(have, Mapping) or not isinstance(shape, Mapping):
        into[key] = True if (have is True or shape is True) else (shape or have or True)
        return
    merged = dict(have)
    for k, v in shape.items():
        _merge(merged, k, v)
    into[key] = merged


def unplanned(text: str) -> RedactionPlan:
    """For a document that did not parse or validate: every string literal and every
    variable value; from where the text stops being GraphQL tokens, the rest of it."""
    spans: list[tuple[int, int]] = []
    values: list[str] = []
    lexer = Lexer(Source(text))
    try:
        while True:
            token = lexer.advance()
            if token.kind is TokenKind.EOF:
                break
            if token.kind in (TokenKind.STRING, TokenKind.BLOCK_STRING):
                spans.append((token.start, token.end))
                values.append(token.value or "")
    except GraphQLError:
        spans.append((lexer.token.end, len(text)))  # from the end of the last good token
    return RedactionPlan(literals=tuple(spans), literal_values=tuple(values), everything=True)
