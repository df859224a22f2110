"""chrgraph: a GraphQL-first Enterprise API server for clinic health records."""

__version__ = "0.1.0"
