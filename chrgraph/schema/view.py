"""The `/graphql` endpoint: steps 4 to 8 of §12, in that order (the guard and the
auth middleware did 1 to 3).

We parse, validate and measure documents ourselves (bounded LRU caches, keyed by the
document text) so that each failure gets its own HTTP status and code, then run the
operation with graphql-core's `execute` on strawberry's schema, as strawberry itself
does. Unexpected exceptions are masked with the request id; the details go to the log."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)
from starlette.datastructures import UploadFile
from starlette.requests import Request
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.execution import optimized_is_awaitable
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema._graphql_core import execution_context_class_kwargs

from chrgraph.audit.api_log import GRAPHQL_REQUEST
from chrgraph.auth.errors import AuthError, AuthReason
from chrgraph.auth.middleware import PRINCIPAL, send_unauthorized
from chrgraph.context import Context
from chrgraph.responses import error_body, header, send_json
from chrgraph.schema import schema
from chrgraph.schema.execution import Executor
from chrgraph.schema.limits import complexity
from chrgraph.schema.loaders import make_loaders
from chrgraph.settings import Settings
from chrgraph.telemetry import describe_principal, log, tracer

PUBLIC_MUTATIONS = {"login", "acceptInvitation"}
_SUGGESTION = re.compile(r"\s*Did you mean .*\?$")


class Refused(Exception):
    """An answer before execution: HTTP status and GraphQL-shaped errors."""

    def __init__(self, status: int, code: str, messages: list[str], headers=None) -> None:
        super().__init__(code)
        self.status, self.code, self.messages, self.headers = status, code, messages, headers


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


@dataclass(frozen=True)
class Prepared:
    """A document that parsed, validated and is within the limits."""

    document: DocumentNode


class DocumentCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prepare = lru_cache(maxsize=settings.parser_cache_size)(self._prepare)
        self.parse = lru_cache(maxsize=settings.parser_cache_size)(self._parse)

    def _parse(self, query: str) -> DocumentNode | Refused:
        try:
            return parse(query, no_location=False, max_tokens=self.settings.max_tokens)
        except GraphQLError as error:
            if "tokens" in error.message and "Parsing aborted" in error.message:
                return Refused(
                    400,
                    "QUERY_TOO_COMPLEX",
                    [f"The document has more than {self.settings.max_tokens} tokens."],
                )
            if "nested too deeply" in error.message:  # graphql-core's own nesting cap (200)
                return Refused(400, "QUERY_TOO_COMPLEX", ["The document is nested too deeply."])
            return Refused(400, "GRAPHQL_PARSE_FAILED", [error.message])

    def _prepare(self, query: str) -> Prepared | Refused:
        document = self.parse(query)
        if isinstance(document, Refused):
            return document
        # Validation compares field pairs (quadratic): count selections before paying for it.
        selections = _count_selections(document)
        if selections > self.settings.max_selections:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The document has {selections} selections; at most {self.settings.max_selections}."],
            )
        errors = validate(schema._schema, document, max_errors=20, hide_suggestions=True)
        if any(e.message == "Validation aborted." for e in errors):
            # graphql-core gave up: its field-comparison budget ran out (field duplication)
            # or validation recursed too deep. That is the document's cost, not a mistake.
            return Refused(400, "QUERY_TOO_COMPLEX", ["The document is too complex to validate."])
        if errors:
            return Refused(400, "GRAPHQL_VALIDATION_FAILED", [_SUGGESTION.sub("", e.message) for e in errors])
        depth, aliases = complexity(document)
        if depth > self.settings.max_depth:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The query is {depth} levels deep; at most {self.settings.max_depth}."],
            )
        if aliases > self.settings.max_aliases:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The query uses {aliases} aliases; at most {self.settings.max_aliases}."],
            )
        return Prepared(document)


async def _multipart_upload(scope) -> tuple[GraphQLRequest, GraphQLRequest, Any]:
    """The GraphQL multipart request spec: `operations`, `map`, then the files, which
    replace the variables the map names. Anything else is 400 BAD_REQUEST.
    Returns the request to run (the files in place), the request as sent (files as
    null: what the API log keeps) and the form, to be closed once the request ran."""
    body = scope.get("chrgraph.body", b"")
    delivered = False

    async def replay():
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    not_upload = Refused(400, "BAD_REQUEST", ["multipart/form-data is only for GraphQL file uploads."])
    try:
        form = await Request(scope, replay).form(max_files=5, max_fields=10)
    except Exception as exc:  # python-multipart's parse errors and Starlette's limits
        raise not_upload from exc
    try:
        operations, mapping = form.get("operations"), form.get("map")
        if not isinstance(operations, str) or not isinstance(mapping, str):
            raise ValueError("operations and map are plain fields")
        sent = _request_from(orjson.loads(operations))
        mapping = orjson.loads(mapping)
        if not isinstance(mapping, dict) or not mapping:
            raise ValueError("not an upload")
        # A second copy of the variables to fill in: the one as sent stays as it was.
        variables = orjson.loads(operations).get("variables") or {}
        for key, paths in mapping.items():
            upload = form.get(key)
            if not isinstance(upload, UploadFile) or not isinstance(paths, list):
                raise ValueError("map names a missing file")
            for path in paths:
                _put(variables, path, upload)
    except (ValueError, Refused) as exc:  # orjson.JSONDecodeError is a ValueError
        await form.close()
        raise not_upload from exc
    return GraphQLRequest(sent.query, sent.operation_name, variables), sent, form


_LIST_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


def _put(variables: dict[str, Any], path: object, value: Any) -> None:
    """Put `value` at `path` (`variables.input.files.0`). Every step must exist in the
    variables as sent: a member of an object, or an index within a list. A path the
    operation does not have, an index past a list's end, a step into a string, a number,
    null or another file is a ValueError (the caller's 400), never an IndexError."""
    if not isinstance(path, str):
        raise ValueError("a path is a string")
    root, *steps = path.split(".")
    if root != "variables" or not steps:
        raise ValueError("a path starts with `variables.`")
    container: Any = variables
    for position, step in enumerate(steps):
        slot: str | int
        if isinstance(container, dict) and step in container:
            slot = step
        elif isinstance(container, list) and _LIST_INDEX.fullmatch(step) and int(step) < len(container):
            slot = int(step)
        else:
            raise ValueError("the path leaves the variables")
        if position == len(steps) - 1:
            container[slot] = value
        else:
            container = container[slot]


def _count_selections(document: DocumentNode) -> int:
    """Selections written in the document (fragments counted where defined)."""
    count, stack = 0, [getattr(d, "selection_set", None) for d in document.definitions]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        count += len(selection_set.selections)
        stack.extend(getattr(s, "selection_set", None) for s in selection_set.selections)
    return count


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _request_from(data: Any) -> GraphQLRequest:
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        raise Refused(400, "BAD_REQUEST", ["A GraphQL request is an object with a `query` string."])
    variables = data.get("variables")
    operation_name = data.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        raise Refused(400, "BAD_REQUEST", ["`variables` must be an object."])
    if operation_name is not None and not isinstance(operation_name, str):
        raise Refused(400, "BAD_REQUEST", ["`operationName` must be a string."])
    return GraphQLRequest(data["query"], operation_name, variables)


class GraphQLEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.documents = DocumentCache(settings)

    async def __call__(self, scope, receive, send) -> None:
        method = scope["method"]
        if method == "GET" and self._wants_ide(scope):
            await self._send_ide(send)
            return
        if method not in ("GET", "POST"):
            await send_json(send, 405, error_body("Use GET or POST.", "METHOD_NOT_ALLOWED"), [(b"allow", b"GET, POST")])
            return
        form = None
        try:
            requests, sent, batched, form = await self._read(scope)
            scope[GRAPHQL_REQUEST] = _log_view(sent, batched)
            principal = scope.get(PRINCIPAL)
            if principal is None:
                self._check_anonymous(requests, batched)
            prepared = self._prepare_all(requests, batched, method)
            # Name the operation for the API log even when the client sent no operationName.
            named = [_operation_name(doc, req) for doc, req in zip(prepared, requests, strict=True)]
            query, _, variables = scope[GRAPHQL_REQUEST]
            scope[GRAPHQL_REQUEST] = (query, ",".join(n or "" for n in named) or None, variables)
        except Refused as refused:
            if form is not None:
                await form.close()
            if refused.status == 401:
                await send_unauthorized(send, AuthError(AuthReason.MISSING_CREDENTIALS))
                return
            body = {"errors": [{"message": m, "extensions": {"code": refused.code}} for m in refused.messages]}
            await send_json(send, refused.status, body, refused.headers)
            return
        context = Context(
            request_id=scope.get("chrgraph.request_id", ""),
            principal=principal,
            settings=self.settings,
            loaders=make_loaders(),
        )
        try:
            results = await asyncio.gather(
                *(self._run(doc, req, context) for doc, req in zip(prepared, requests, strict=True))
            )
        finally:
            if form is not None:
                await form.close()
        await send_json(send, 200, results if batched else results[0])

    def _wants_ide(self, scope) -> bool:
        accept = header(scope, b"accept") or ""
        return self.settings.graphiql and "text/html" in accept and b"query=" not in scope.get("query_string", b"")

    async def _send_ide(self, send) -> None:
        html = get_graphql_ide_html("graphiql").encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(html)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": html})

    async def _read(self, scope) -> tuple[list[GraphQLRequest], list[GraphQLRequest], bool, Any]:
        """The requests to run, the requests as sent (they differ for an upload only),
        whether they came as a batch, and an upload's form."""
        if scope["method"] == "GET":
            params = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
            try:
                variables = orjson.loads(params["variables"]) if params.get("variables") else None
            except orjson.JSONDecodeError as exc:
                raise Refused(400, "BAD_REQUEST", ["`variables` is not valid JSON."]) from exc
            request = _request_from(
                {"query": params.get("query"), "variables": variables, "operationName": params.get("operationName")}
            )
            return [request], [request], False, None
        ctype = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            request, sent, form = await _multipart_upload(scope)
            return [request], [sent], False, form
        try:
            data = orjson.loads(scope.get("chrgraph.body", b""))
        except orjson.JSONDecodeError as exc:
            raise Refused(400, "BAD_REQUEST", ["The body is not valid JSON."]) from exc
        if isinstance(data, list):
            if not data:
                raise Refused(400, "BAD_REQUEST", ["An empty batch."])
            requests = [_request_from(item) for item in data]
            return requests, requests, True, None
        requests = [_request_from(data)]
        return requests, requests, False, None

    def _check_anonymous(self, requests: list[GraphQLRequest], batched: bool) -> None:
        """§2.4: only a single `login` or `acceptInvitation` mutation, nothing else."""
        if batched:
            raise Refused(401, "UNAUTHENTICATED", [])
        document = self.documents.parse(requests[0].query)
        if isinstance(document, Refused):
            raise Refused(401, "UNAUTHENTICATED", [])
        operation = _operation(document, requests[0].operation_name)
        if (
            operation is None
            or operation.operation is not OperationType.MUTATION
            or len(operation.selection_set.selections) != 1
            or not isinstance(operation.selection_set.selections[0], FieldNode)
            or operation.selection_set.selections[0].name.value not in PUBLIC_MUTATIONS
        ):
            raise Refused(401, "UNAUTHENTICATED", [])

    def _prepare_all(self, requests: list[GraphQLRequest], batched: bool, method: str) -> list[DocumentNode]:
        if method == "GET":
            document = self.documents.parse(requests[0].query)
            if not isinstance(document, Refused):
                operation = _operation(document, requests[0].operation_name)
                if operation is not None and operation.operation is not OperationType.QUERY:
                    raise Refused(405, "METHOD_NOT_ALLOWED", ["Mutations are sent with POST."], [(b"allow", b"POST")])
        if batched and len(requests) > self.settings.max_batch:
            raise Refused(400, "BAD_REQUEST", [f"At most {self.settings.max_batch} operations per batch."])
        documents = []
        for request in requests:
            prepared = self.documents.prepare(request.query)
            if isinstance(prepared, Refused):
                raise prepared
            operation = _operation(prepared.document, request.operation_name)
            if operation is None:
                raise Refused(400, "BAD_REQUEST", ["Name the operation to run (`operationName`)."])
            if batched and operation.operation is not OperationType.QUERY:
                raise Refused(400, "BAD_REQUEST", ["Batches may hold queries only."])
            documents.append(prepared.document)
        return documents

    async def _run(self, document: DocumentNode, request: GraphQLRequest, context: Context) -> dict[str, Any]:
        operation = _operation(document, request.operation_name)
        name = operation.name.value if operation and operation.name else None
        with tracer.start_as_current_span("graphql.execute") as span:
            span.set_attribute("graphql.operation.name", name or "")
            span.set_attribute("graphql.operation.type", operation.operation.value if operation else "")
            describe_principal(span, context.principal)
            result = execute(
                schema._schema,
                document,
                context_value=context,
                variable_values=request.variables,
                operation_name=request.operation_name,
                is_awaitable=optimized_is_awaitable,
                hide_suggestions=True,
                **execution_context_class_kwargs(Executor),
            )
            if asyncio.iscoroutine(result) or asyncio.isfuture(result):
                result = await result
            assert isinstance(result, ExecutionResult)
            errors = [_public_error(e, context.request_id) for e in result.errors or []]
            span.set_attribute("chrgraph.outcome", "ok" if not errors else "errors")
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        return body


def _operation_name(document: DocumentNode, request: GraphQLRequest) -> str | None:
    operation = _operation(document, request.operation_name)
    return operation.name.value if operation is not None and operation.name else request.operation_name


def _public_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """Typed errors keep their code; anything unexpected is masked (§9)."""
    original = error.original_error
    code = (error.extensions or {}).get("code")
    if code is None and isinstance(original, GraphQLError):
        code = (original.extensions or {}).get("code")
    if code is None and (original is None or isinstance(original, (GraphQLError, StrawberryInputCoercionError))):
        code = "BAD_USER_INPUT"  # variable, argument and global id coercion errors (graphql-core's own)
    if code is None:
        log.error("unexpected error request_id=%s path=%s", request_id, error.path, exc_info=original)
        return {
            "message": f"Internal server error (request id {request_id}).",
            "path": error.path,
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
    body: dict[str, Any] = {"message": _SUGGESTION.sub("", error.message), "extensions": {"code": code}}
    if error.path:
        body["path"] = error.path
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return body


def _log_view(requests: list[GraphQLRequest], batched: bool) -> tuple[Any, Any, Any]:
    if not batched:
        r = requests[0]
        return r.query, r.operation_name, r.variables
    return (
        "\n# ---\n".join(r.query for r in requests),
        ",".join(r.operation_name or "" for r in requests) or None,
        {"batch": [r.variables for r in requests]},
    )
