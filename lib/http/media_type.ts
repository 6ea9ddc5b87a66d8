/**
 * Request bodies must be JSON. A body sent as `text/plain`, a form or with no type at all is what
 * a cross-site page can make its visitors' browsers send without a CORS preflight (a "simple
 * request"), so accepting it would let any web page register accounts or drive lockouts from
 * its visitors' addresses. `application/json` always needs a preflight, which this service
 * never grants.
 */
import { API_STATUS } from "../protocol/status.ts";
import { envelope } from "./envelope.ts";

/** The methods whose body is read; a body on any of them must be `application/json`. */
const METHODS_WITH_BODY: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Whether the request says it carries a body: a Content-Length above 0 or a Transfer-Encoding. */
export function hasBody(request: Request): boolean {
  if (request.headers.has("transfer-encoding")) return true;
  const length = request.headers.get("content-length");
  return length !== null && length.trim() !== "0";
}

/** Whether a Content-Type names JSON: `application/json`, any case, parameters allowed. */
export function isJsonMediaType(contentType: string | null): boolean {
  if (contentType === null) return false;
  return contentType.split(";")[0].trim().toLowerCase() === "application/json";
}

/** 415 with status 10013 for a body that is not `application/json`; `null` when it may pass. */
export function refuseNonJsonBody(request: Request): Response | null {
  if (!METHODS_WITH_BODY.has(request.method) || !hasBody(request)) return null;
  const contentType = request.headers.get("content-type");
  if (isJsonMediaType(contentType)) return null;
  return envelope(
    415,
    API_STATUS.UNSUPPORTED_MEDIA_TYPE,
    "Request body must be application/json",
    { field: "content-type", reason: "must be application/json", got: contentType ?? "" },
    { accept: "application/json" },
  );
}
