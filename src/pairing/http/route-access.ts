// Deny by default: every route of the pairing server is either on this explicit list of public routes or
// gets the agent JWT check attached here, when it is registered. A route module cannot forget it, and a
// route that is neither public nor under /v1/:realm/ makes the server refuse to start.
import type { onRequestHookHandler, RouteOptions } from 'fastify';

/** Routes reachable without an agent token, each with why. Keys are "METHOD pattern" as the router has them. */
export const PUBLIC_ROUTES: ReadonlyMap<string, string> = new Map([
  ['GET /version', 'server version'],
  ['GET /v1/:realm/version', 'server version (realm scoped, as Astarte)'],
  ['GET /health', 'readiness probe (empty body)'],
  ['GET /v1/:realm/health', 'readiness probe (realm scoped, as Astarte)'],
  ['GET /metrics', 'Prometheus metrics: counters only, route patterns, no realm or device id'],
  ['GET /openapi.json', 'this API description'],
  ['GET /v1/:realm/ca', 'the CA certificate (public by nature)'],
  ['GET /v1/:realm/ca/crl', 'the CRL (public by nature)'],
  ['POST /v1/:realm/ca/ocsp', 'OCSP (RFC 6960): public by nature'],
  ['GET /v1/:realm/ca/ocsp/*', 'OCSP over GET (RFC 6960 A.1)'],
  ['GET /v1/:realm/devices/:hw_id', "device API: carries the device's credentials secret, checked by the core"],
  ['POST /v1/:realm/devices/:hw_id/protocols/:protocol/credentials', 'device API: credentials secret'],
  ['POST /v1/:realm/devices/:hw_id/protocols/:protocol/credentials/verify', 'device API: credentials secret'],
  ['POST /v1/:realm/claims', 'device self-registration: the claim token is in the body'],
  ['POST /sign', 'Foundries registration: no authentication of its own, as the reference server'],
  ['HEAD /sign', "lmp-device-register's reachability probe"],
]);

function accessKey(method: string, url: string): string {
  // Fastify exposes a HEAD route for every GET: it is public exactly when the GET is.
  const m = method === 'HEAD' && !PUBLIC_ROUTES.has(`HEAD ${url}`) ? 'GET' : method;
  return `${m} ${url}`;
}

export function isPublicRoute(method: string, url: string): boolean {
  return PUBLIC_ROUTES.has(accessKey(method, url));
}

export interface RegisteredRoute {
  method: string;
  url: string;
  public: boolean;
}

/**
 * An onRoute hook: public routes pass as they are; every other route must be under /v1/:realm/ and gets
 * `agentGuard` as its first onRequest hook. `registered` receives every route (the security tests walk it).
 */
export function guardRoute(agentGuard: onRequestHookHandler, registered: RegisteredRoute[]) {
  return (route: RouteOptions): void => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const isPublic = methods.every((m) => isPublicRoute(m, route.url));
    if (!isPublic && methods.some((m) => isPublicRoute(m, route.url)))
      throw new Error(`Route ${route.url} mixes public and protected methods: declare them separately`);
    for (const m of methods) registered.push({ method: m, url: route.url, public: isPublic });
    if (isPublic) return;
    if (!route.url.startsWith('/v1/:realm/'))
      throw new Error(`Route ${methods.join(',')} ${route.url} is neither in PUBLIC_ROUTES nor an agent route under /v1/:realm/`);
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [agentGuard, ...own];
  };
}
