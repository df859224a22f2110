"""The ASGI side: the GraphQL endpoint and the middlewares in front of it, error
answers and the image route. Everything here speaks ASGI (`scope`, `receive`, `send`);
what a request is about is decided below, in `schema/` and `resolvers/`."""
