// The GraphQL client: one POST to the server's own /graphql per operation, typed by the
// documents that codegen generates from schema.graphql.
import type { TypedDocumentString } from './gql/graphql';
import type { GraphQLErrorLike } from './logic';
import { clearToken, readToken } from './session';

export type Result<R> = { data: R | null; errors: GraphQLErrorLike[]; networkError: boolean };

export async function run<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<Result<R>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const token = readToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    return { data: null, errors: [], networkError: true };
  }
  let body: { data?: R | null; errors?: GraphQLErrorLike[] };
  try {
    body = await response.json();
  } catch {
    return { data: null, errors: [{ message: `The server answered ${response.status}.` }], networkError: false };
  }
  const errors = body.errors ?? [];
  if (response.status === 401 || errors.some((error) => error.extensions?.code === 'UNAUTHENTICATED')) {
    clearToken();
  }
  return { data: body.data ?? null, errors, networkError: false };
}
