/**
 * The route table's machinery: each route is a `URLPattern` and a handler per method. A path no
 * route matches is 404; a matched path with another method is 405 with `Allow`; `HEAD` is
 * answered by the `GET` handler. Path parameters arrive percent-decoded; a parameter that does
 * not decode (or decodes to nothing) matches no route. A body that is not `application/json` is
 * 415 (`media_type.ts`) before any handler reads it.
 */
import { API_STATUS } from "../protocol/status.ts";
import { envelope } from "./envelope.ts";
import { refuseNonJsonBody } from "./media_type.ts";

/** What a handler gets besides the request. */
export interface RequestContext {
  readonly url: URL;
  /** The path's named parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The client's address, for limits. */
  readonly address: string;
}

/** Answers one request on a matched route. */
export type RouteHandler = (request: Request, context: RequestContext) => Promise<Response>;

/** A path pattern and its handlers by method. */
export interface Route {
  readonly pattern: URLPattern;
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

/** A route for `pathname` (URLPattern syntax, e.g. `/v1/chat/:peer`). */
export function route(pathname: string, methods: Record<string, RouteHandler>): Route {
  return { pattern: new URLPattern({ pathname }), methods };
}

function decodedParams(groups: Record<string, string | undefined>): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (const [name, raw] of Object.entries(groups)) {
    if (raw === undefined) continue;
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (params[name] === "") return null;
  }
  return params;
}

/** Finds the route for the request and runs its handler, or answers 404 or 405. */
export function dispatch(
  routes: readonly Route[],
  request: Request,
  url: URL,
  address: string,
): Promise<Response> {
  for (const { pattern, methods } of routes) {
    const matched = pattern.exec({ pathname: url.pathname });
    const params = matched === null ? null : decodedParams(matched.pathname.groups);
    if (params === null) continue;
    const handler = methods[request.method === "HEAD" ? "GET" : request.method];
    if (handler === undefined) {
      const allow = Object.keys(methods).join(", ");
      return Promise.resolve(envelope(
        405,
        API_STATUS.METHOD_NOT_ALLOWED,
        `Method ${request.method} not allowed`,
        { allow },
        { allow },
      ));
    }
    const notJson = refuseNonJsonBody(request);
    if (notJson !== null) return Promise.resolve(notJson);
    return handler(request, { url, params, address });
  }
  return Promise.resolve(envelope(404, API_STATUS.NOT_FOUND, "Not found"));
}
