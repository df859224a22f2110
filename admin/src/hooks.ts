import { useCallback, useEffect, useState } from 'react';
import { type Result, run } from './api';
import type { TypedDocumentString } from './gql/graphql';
import { describeErrors, tokenFromFragment } from './logic';

export type QueryState<R> = {
  loading: boolean;
  data: R | null;
  failure: string | null;
  networkError: boolean;
  reload: () => void;
};

/** Runs a query when its variables change; FORBIDDEN and network failures become text. */
export function useQuery<R, V>(document: TypedDocumentString<R, V>, variables?: V, skip = false): QueryState<R> {
  const key = JSON.stringify(variables ?? {});
  const [tick, setTick] = useState(0);
  const [state, setState] = useState<Omit<QueryState<R>, 'reload'>>({
    loading: !skip,
    data: null,
    failure: null,
    networkError: false,
  });
  useEffect(() => {
    if (skip) return;
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    run(document, JSON.parse(key) as V).then((result: Result<R>) => {
      if (!live) return;
      setState({
        loading: false,
        data: result.data,
        failure: describeErrors(result.errors),
        networkError: result.networkError,
      });
    });
    return () => {
      live = false;
    };
  }, [document, key, tick, skip]);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { ...state, reload };
}

/** The token of a link (`#token=…`: invitation, password reset), read once when the page
 * opens. It leaves the address bar at once, so it stays out of the history, bookmarks
 * and screenshots; the fragment never reached the server either. */
export function useLinkToken(): string | null {
  const [token] = useState(() => {
    const found = tokenFromFragment(window.location.hash);
    if (window.location.hash) window.history.replaceState(null, '', window.location.pathname);
    return found;
  });
  return token;
}
