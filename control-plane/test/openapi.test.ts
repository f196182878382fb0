// The OpenAPI document describes exactly the routes the app serves, from the validating schemas.
import { describe, expect, it } from "vitest";
import { app } from "../src/index.ts";
import { openApiDocument, ROUTES } from "../src/openapi.ts";

describe("OpenAPI", () => {
  it("lists every served route and nothing else", () => {
    const served = new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && !["/healthz", "/openapi.json", "/docs"].includes(r.path))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it("carries the request schemas, with their constraints", () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> };
    const create = doc.paths["/v1/models"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(create.properties.name).toMatchObject({ type: "string", maxLength: 64 });
    expect(create.properties.task).toMatchObject({ enum: ["binary_classification", "regression", "multiclass"] });
    const upload = doc.paths["/v1/models/{model}/versions"]!.post!.requestBody!.content["multipart/form-data"]!.schema;
    expect(Object.keys(upload.properties)).toEqual(["artifact", "metadata"]);
  });
});
