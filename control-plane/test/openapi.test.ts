// The OpenAPI document is generated from the routes themselves: it describes exactly the routes
// the app serves, each from its endpoint contract, with the schemas its validators check.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { controlPlaneApi } from "@verge/shared";
import { app } from "../src/index.ts";
import { controlPlaneDocument, controlPlaneReference } from "../src/openapi.ts";

type Operation = {
  operationId: string;
  "x-verge-access": string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> & { properties?: Record<string, unknown> } }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
const doc = (await controlPlaneDocument(app)) as unknown as { paths: Record<string, Record<string, Operation>> };
const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
// Not the API: health, the document itself, its page, and the dashboard's static assets.
const UNDOCUMENTED = ["/healthz", "/openapi.json", "/docs", "/ui", "/ui/", "/ui/app.js", "/ui/app.css"];

describe("OpenAPI", () => {
  it("documents every served route and nothing else", () => {
    const served = new Set(app.routes.filter((r) => r.method !== "ALL" && !UNDOCUMENTED.includes(r.path)).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`));
    const documented = new Set(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`));
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it("serves each endpoint contract at its own method and path, guarded by its own access", () => {
    const byId = new Map(operations.map((o) => [o.op.operationId, o]));
    expect(Object.keys(controlPlaneApi).sort()).toEqual([...byId.keys()].sort());
    for (const [id, e] of Object.entries(controlPlaneApi)) {
      const o = byId.get(id)!;
      expect(`${o.method} ${o.path}`, id).toBe(`${e.method} ${e.path}`);
      expect(o.op["x-verge-access"], id).toBe(e.access);
    }
  });

  it("documents the request schemas the validators check, which are the contracts' own", () => {
    const json = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown> };
    for (const [id, e] of Object.entries(controlPlaneApi)) {
      const o = operations.find((x) => x.op.operationId === id)!.op;
      const inQuery = (o.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name).sort();
      expect(inQuery, id).toEqual(Object.keys((e as { query?: z.ZodObject }).query?.shape ?? {}).sort());
      const inPath = (o.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
      expect(inPath, id).toEqual([...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort());
      const body = (e as { body?: z.ZodType }).body;
      if (body && !(e as { multipart?: boolean }).multipart) expect(o.requestBody!.content["application/json"]!.schema.properties, id).toEqual(json(body).properties);
      if (!body) expect(o.requestBody, id).toBeUndefined();
    }
    const create = doc.paths["/v1/models"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(create.properties!.name).toMatchObject({ type: "string", maxLength: 64 });
    const upload = doc.paths["/v1/models/{model}/versions"]!.post!.requestBody!.content["multipart/form-data"]!.schema;
    expect(Object.keys(upload.properties!)).toEqual(["artifact", "metadata"]);
  });

  it("gives every success response its schema, and every error the shared error shape", () => {
    for (const { path, method, op } of operations) {
      const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [status, r] of success) if (status !== "204" && op.operationId !== "getArtifact") expect(Object.values(r.content ?? {})[0]?.schema, `${method} ${path} ${status}`).toBeTruthy();
      expect(JSON.stringify(op.responses["4XX"]), `${method} ${path}`).toContain('"code"');
    }
    const metrics = doc.paths["/v1/models/{model}/metrics"]!.get!.responses["200"]!.content!["application/json"]!.schema as { properties: Record<string, unknown> };
    expect(Object.keys(metrics.properties)).toEqual(expect.arrayContaining(["model", "window", "timeseries", "series", "total"]));
  });

  it("renders a reference page from the document, with no script or remote asset", async () => {
    const page = await controlPlaneReference(app);
    for (const { path } of operations) expect(page).toContain(path.replace(/[{}]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/&#123;/g, "{").replace(/&#125;/g, "}"));
    expect(page).not.toMatch(/<script|https?:\/\/(?!127\.)/);
  });
});
