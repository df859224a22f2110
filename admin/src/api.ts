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

/** Runs an operation with files, as the GraphQL multipart request spec sends them: the
 * operation with null in place of each file, a map from file to variable path, then the
 * files. `files` maps a variable path such as "variables.input.file" to its file. */
export async function runUpload<R, V>(document: TypedDocumentString<R, V>, variables: V, files: Record<string, File>): Promise<Result<R>> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: document.toString(), variables }));
  const keys = Object.keys(files);
  form.append('map', JSON.stringify(Object.fromEntries(keys.map((path, index) => [String(index), [path]]))));
  keys.forEach((path, index) => form.append(String(index), files[path]));
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = readToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: form, credentials: 'omit', cache: 'no-store' });
  } catch {
    return { data: null, errors: [], networkError: true };
  }
  try {
    const body = (await response.json()) as { data?: R | null; errors?: GraphQLErrorLike[] };
    return { data: body.data ?? null, errors: body.errors ?? [], networkError: false };
  } catch {
    return { data: null, errors: [{ message: `The server answered ${response.status}.` }], networkError: false };
  }
}
