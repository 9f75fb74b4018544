// Web mode: the session token arrives in the URL fragment (#token=…), which browsers never send to
// a server; the page keeps it in sessionStorage and removes it from the address bar.
const KEY = 'imprint.sessionToken';

export function takeSessionToken(): string | undefined {
  const token = new URLSearchParams(location.hash.replace(/^#\/?/, '')).get('token');
  if (token) {
    keepSessionToken(token);
    history.replaceState(null, '', `${location.pathname}#/operator`);
    return token;
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}

/** A new token for this tab (the station restarted and printed a new address). */
export function keepSessionToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}
