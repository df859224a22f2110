// The session token lives in this tab's sessionStorage only: never a cookie, never
// localStorage. Closing the tab forgets it.
const KEY = 'chrgraph.session';
const listeners = new Set<() => void>();

export function readToken(): string | null {
  return window.sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  window.sessionStorage.setItem(KEY, token);
  listeners.forEach((listener) => listener());
}

export function clearToken(): void {
  if (window.sessionStorage.getItem(KEY) === null) return;
  window.sessionStorage.removeItem(KEY);
  listeners.forEach((listener) => listener());
}

export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Per-session flags (such as a dismissed banner), in sessionStorage as well. */
export function sessionFlag(name: string): boolean {
  return window.sessionStorage.getItem(`chrgraph.flag.${name}`) === '1';
}

export function setSessionFlag(name: string): void {
  window.sessionStorage.setItem(`chrgraph.flag.${name}`, '1');
}
