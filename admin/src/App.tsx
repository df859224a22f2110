import { lazy, Suspense, useEffect, useState } from 'react';
import { run } from './api';
import { graphql } from './gql';
import { useQuery } from './hooks';
import { hasPermission } from './logic';
import { BASE, Link, match, navigate, usePath } from './router';
import { screens } from './screens';
import Accept from './screens/Accept';
import SignIn from './screens/SignIn';
import { clearToken, onTokenChange, readToken, sessionFlag, setSessionFlag } from './session';
import { Failure, Loading, Message } from './ui';
import { ViewerContext, ViewerDocument, type ViewerInfo } from './viewer';

const Forgot = lazy(() => import('./screens/Forgot'));
const Reset = lazy(() => import('./screens/Reset'));
const Enrol = lazy(() => import('./screens/Enrol'));
const PUBLIC_TITLES: Record<string, string> = { '/accept': 'Accept the invitation', '/forgot': 'Forgotten password', '/reset': 'Choose a new password' };

const LogoutDocument = graphql(`
  mutation Logout {
    logout {
      errors {
        code
        message
      }
    }
  }
`);

const UnmappedCountDocument = graphql(`
  query UnmappedCount {
    unmappedUsers {
      user {
        id
      }
    }
  }
`);

function useToken(): string | null {
  const [token, setToken] = useState(readToken);
  useEffect(() => onTokenChange(() => setToken(readToken())), []);
  return token;
}

export default function App() {
  const path = usePath();
  const token = useToken();
  useEffect(() => {
    const screen = screens.find((candidate) => match(candidate.path, path));
    document.title = `${screen?.title ?? PUBLIC_TITLES[path] ?? 'Sign in'} · chrgraph admin`;
  }, [path]);
  if (path === '/accept') return <Accept />;
  if (path === '/forgot' || path === '/reset') {
    return <Suspense fallback={<Loading />}>{path === '/forgot' ? <Forgot /> : <Reset />}</Suspense>;
  }
  if (!token) return <SignIn />;
  return <SignedIn path={path} />;
}

function UnmappedBanner() {
  const [dismissed, setDismissed] = useState(() => sessionFlag('unmapped-banner'));
  const query = useQuery(UnmappedCountDocument, undefined, dismissed);
  const count = query.data?.unmappedUsers?.length ?? 0;
  if (dismissed || count === 0) return null;
  return (
    <aside className="banner" aria-label="Unmapped users">
      <p>
        {count} {count === 1 ? 'user has' : 'users have'} no license yet.{' '}
        <Link to="/unmapped">Review the unmapped users</Link>
      </p>
      <button
        type="button"
        onClick={() => {
          setSessionFlag('unmapped-banner');
          setDismissed(true);
        }}
      >
        Dismiss
      </button>
    </aside>
  );
}

function SignedIn({ path }: { path: string }) {
  const query = useQuery(ViewerDocument);
  if (query.loading && !query.data) return <Loading />;
  if (!query.data) {
    return (
      <main id="main" className="narrow">
        <Failure networkError={query.networkError} text={query.failure ?? 'The server did not answer.'} />
        <button type="button" onClick={query.reload}>
          Try again
        </button>
      </main>
    );
  }
  const viewer = query.data.viewer;
  // A session the organization holds back until it enrols a second factor can do nothing else.
  const mustEnrol = !!viewer.user && viewer.organization.securityPolicy.requireTwoFactor && !viewer.user.twoFactorEnabled;
  return (
    <ViewerContext.Provider value={viewer}>
      {mustEnrol ? (
        <Suspense fallback={<Loading />}>
          <Enrol onDone={query.reload} />
        </Suspense>
      ) : (
        <Shell viewer={viewer} path={path} />
      )}
    </ViewerContext.Provider>
  );
}

function Shell({ viewer, path }: { viewer: ViewerInfo; path: string }) {
  const permissions = viewer.user?.permissions;
  const visible = (screen: (typeof screens)[number]) =>
    !screen.permission || hasPermission(permissions, screen.permission) || !!screen.allow?.(viewer);
  const allowed = screens.filter(visible);
  let found: { screen: (typeof screens)[number]; params: Record<string, string> } | null = null;
  for (const screen of screens) {
    const params = match(screen.path, path);
    if (params) {
      found = { screen, params };
      break;
    }
  }
  const signOut = async () => {
    await run(LogoutDocument);
    clearToken();
    navigate('/', true);
  };
  const permitted = found && visible(found.screen);
  const Component = found?.screen.component;
  return (
    <>
      <a href="#main" className="skip">
        Skip to the content
      </a>
      <header className="top">
        <p className="org">{viewer.organization.name}</p>
        <nav aria-label="Screens">
          <ul>
            {allowed
              .filter((screen) => screen.nav)
              .map((screen) => (
                <li key={screen.path}>
                  {screen.fullLoad ? (
                    <a href={`${BASE}${screen.path}`} aria-current={path === screen.path ? 'page' : undefined}>
                      {screen.title}
                    </a>
                  ) : (
                    <Link to={screen.path} aria-current={path.startsWith(screen.path) ? 'page' : undefined}>
                      {screen.title}
                    </Link>
                  )}
                </li>
              ))}
          </ul>
        </nav>
        <p className="who">
          {viewer.user ? `${viewer.user.firstName} ${viewer.user.lastName}` : viewer.kind}{' '}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </p>
      </header>
      {hasPermission(permissions, 'EDIT_OTHER_USERS') ? <UnmappedBanner /> : null}
      <main id="main" tabIndex={-1}>
        {!found ? <Message kind="error">There is no such page.</Message> : null}
        {found && !permitted ? <Message kind="error">You do not have permission to see this page.</Message> : null}
        {Component && permitted ? (
          <Suspense fallback={<Loading />}>
            <Component params={found!.params} />
          </Suspense>
        ) : null}
      </main>
    </>
  );
}
