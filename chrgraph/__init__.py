"""chrgraph: a GraphQL-first Enterprise API server for clinic health records."""

__version__ = "0.2.0"
