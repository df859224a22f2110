"""`python -m chrgraph.schema.export`: print the SDL committed as schema.graphql."""

from chrgraph.schema import schema

if __name__ == "__main__":
    print(schema.as_str())
