// An endpoint contract: method, path, who may call it, and the schemas of what goes in and out.
// Servers document and guard their routes with these; the typed client calls them.
import type { z } from "zod";
import { ROLES, type Role } from "../schemas/admin/access.ts";

/**
 * Who may call an endpoint: a control-plane role (or stronger; the trainer takes the control
 * plane's tokens too), the gateway's token, a client key, a request signed with a shared
 * secret, or anyone.
 */
export type Access = Role | "gateway" | "client" | "signed" | "public";

/** What a successful answer carries: JSON (parsed with `response`), raw bytes, events, or nothing. */
export type Produces = "json" | "binary" | "sse" | "text" | "none";

export interface Endpoint {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI form: `/v1/models/{model}`. */
  path: string;
  access: Access;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** The JSON body; for `multipart` endpoints, the `metadata` field beside the `artifact` file. */
  body?: z.ZodType;
  multipart?: boolean;
  /** Request headers the endpoint reads (documented, and accepted by the client). */
  headers?: readonly string[];
  response?: z.ZodType;
  /** The success status (or statuses: an idempotent submit answers 200 for a repeat). */
  status: number | readonly number[];
  produces?: Produces;
}

/** A catalog of endpoints, each told its own name (the OpenAPI operationId). */
export type Catalog<T extends Record<string, Endpoint>> = { [K in keyof T]: T[K] & { id: K & string } };

/**
 * Names every endpoint of a catalog after its key.
 *
 * @example
 * export const api = catalog({ listModels: { method: "get", path: "/v1/models", access: "viewer", summary: "List models", response: modelListSchema, status: 200 } });
 */
export function catalog<const T extends Record<string, Endpoint>>(endpoints: T): Catalog<T> {
  return Object.fromEntries(Object.entries(endpoints).map(([id, e]) => [id, { ...e, id }])) as Catalog<T>;
}

/** Whether `role` may call an endpoint with this access (control-plane roles only). */
export function roleAllows(role: Role, access: Access): boolean {
  const needed = ROLES.indexOf(access as Role);
  return needed >= 0 && ROLES.indexOf(role) >= needed;
}

/** The path with its `{param}`s filled in, each URL-encoded. */
export function fillPath(path: string, params: Record<string, unknown> = {}): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === null || value === "") throw new Error(`${name}: a value is required for ${path}`);
    return encodeURIComponent(String(value));
  });
}
