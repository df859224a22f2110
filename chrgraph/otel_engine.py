"""The one place that reads OpenTelemetry's internals: whether a tracer provider is
installed, read from the API module's private global, so that a process without one
skips the context switches a non-recording span costs on every request and statement
(docs/performance.md). Installed by `install` for the versions below only; otherwise
every span goes through OpenTelemetry's own (proxy) tracer, as stock."""

from __future__ import annotations

import os

from opentelemetry import trace

from chrgraph.settings import Settings
from chrgraph.versions import differences

# The exact versions the fast path was written and tested for (constraints.txt).
WRITTEN_FOR = {"opentelemetry-api": "1.45.2"}
_fast = False
# The SDK can also be chosen through this variable; read once (it is fixed at start-up),
# since `get_tracer_provider()` looks it up in os.environ on every call.
_PROVIDER_FROM_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def install(settings: Settings) -> bool:
    global _fast
    _fast = settings.fast_paths and not differences(WRITTEN_FOR)
    return _fast


def spans_record() -> bool:
    """Whether a span started now may record: false only when the fast path knows that no
    provider is installed (once set, OpenTelemetry's global provider never changes)."""
    if not _fast:
        return True
    if getattr(trace, "_TRACER_PROVIDER", None) is not None:
        return True
    if not _PROVIDER_FROM_ENVIRONMENT:
        return not hasattr(trace, "_TRACER_PROVIDER")  # an API without it: assume spans record
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
