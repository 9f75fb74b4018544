// Web mode: the session token arrives in the URL fragment (#token=…, never sent to a server) or
// ?token=…; the page keeps it in sessionStorage and removes it from the address bar.
const KEY = 'imprint.sessionToken';

export function takeSessionToken(): string | undefined {
  const fromHash = new URLSearchParams(location.hash.replace(/^#\/?/, '')).get('token');
  const fromQuery = new URLSearchParams(location.search).get('token');
  const token = fromHash ?? fromQuery;
  if (token) {
    sessionStorage.setItem(KEY, token);
    history.replaceState(null, '', `${location.pathname}#/operator`);
    return token;
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}
