// The admin API inside workerd: auth, validation, version numbering, aliases, deployments, snapshot.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoArtifacts, demoMetadata } from "../../scripts/lib/demo.ts";
import { ADMIN_TOKEN, GATEWAY_TOKEN, errorOf, tableCounts, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;

beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "churn", task: "binary_classification" });
  const { lr, mlp } = demoArtifacts();
  await stack.admin.uploadVersion("churn", lr, demoMetadata("lr"));
  await stack.admin.uploadVersion("churn", mlp, demoMetadata("mlp"));
});
afterAll(() => stack?.dispose());

const json = (body: unknown, token = ADMIN_TOKEN) => ({
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("authentication", () => {
  it("refuses a missing or wrong token with 401, and the gateway token on admin routes with 403", async () => {
    expect((await stack.controlPlane("/v1/models")).status).toBe(401);
    expect((await stack.controlPlane("/v1/models", { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    const res = await stack.controlPlane("/v1/models", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("forbidden");
  });

  it("serves the snapshot to gateways only", async () => {
    expect((await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(403);
    expect((await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } })).status).toBe(200);
  });
});

describe("versions", () => {
  it("numbers versions per model and records sha256 and size", async () => {
    const list = await stack.admin.ok("GET", "/v1/models/churn/versions");
    expect(list.versions.map((v) => v.version)).toEqual([2, 1]);
    const { lr } = demoArtifacts();
    const expected = Buffer.from(await crypto.subtle.digest("SHA-256", lr)).toString("hex");
    expect(list.versions[1]).toMatchObject({ sha256: expected, size: lr.byteLength, runtime: "edge" });
  });

  it("stores the artifact in R2 under the key its row names, with its sha256", async () => {
    const r2 = await stack.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
    const v = await stack.admin.ok("GET", "/v1/models/churn/versions/1");
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    const row = await db.prepare("SELECT artifact_key AS key FROM versions WHERE sha256 = ?").bind(v.sha256).first<{ key: string }>();
    const object = await r2.get(row!.key);
    expect(object?.size).toBe(demoArtifacts().lr.byteLength);
    expect(Buffer.from(object!.checksums.sha256!).toString("hex")).toBe(v.sha256);
  });

  it("refuses an artifact whose graph does not match the declared spec, storing nothing", async () => {
    const before = await tableCounts(stack);
    const meta = { ...demoMetadata("lr"), outputs: [{ name: "score", shape: [-1, 1], datatype: "FP32" }] };
    const form = new FormData();
    form.set("artifact", new Blob([demoArtifacts().lr as BlobPart]));
    form.set("metadata", JSON.stringify(meta));
    const res = await stack.admin.raw("POST", "/v1/models/churn/versions", form);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/metadata\.outputs/);
    expect(await tableCounts(stack)).toEqual(before);
  });

  it("refuses bytes that are not ONNX, and metadata that does not parse", async () => {
    const before = await tableCounts(stack);
    for (const [artifact, metadata, pattern] of [
      [new TextEncoder().encode("hello"), JSON.stringify(demoMetadata("lr")), /artifact: not an ONNX model/],
      [demoArtifacts().lr, "{not json", /metadata: malformed JSON/],
      [demoArtifacts().lr, JSON.stringify({ ...demoMetadata("lr"), runtime: "gpu" }), /metadata\.runtime/],
    ] as const) {
      const form = new FormData();
      form.set("artifact", new Blob([artifact as BlobPart]));
      form.set("metadata", metadata);
      const res = await stack.admin.raw("POST", "/v1/models/churn/versions", form);
      expect(res.status).toBe(400);
      expect((res.body as { error: { message: string } }).error.message).toMatch(pattern);
    }
    expect(await tableCounts(stack)).toEqual(before);
  });
});

describe("aliases and deployments", () => {
  it("moves an alias and keeps its history", async () => {
    await stack.admin.ok("PUT", "/v1/models/churn/aliases/production", { version: 1 });
    await stack.admin.ok("PUT", "/v1/models/churn/aliases/production", { version: 2, reason: "better AUC" });
    const h = await stack.admin.ok("GET", "/v1/models/churn/aliases/production/history");
    expect(h.history.map((e) => [e.from, e.to])).toEqual([[1, 2], [null, 1]]);
    expect(h.history[0]!.reason).toBe("better AUC");
  });

  it("compiles weights into an allocation and follows aliases in the snapshot", async () => {
    const dep = await stack.admin.ok("PUT", "/v1/models/churn/deployment", {
      variants: [
        { name: "a", alias: "production", weight: 2500 },
        { name: "b", version: 1, weight: 7500 },
      ],
    });
    expect(dep.allocation).toEqual([[0, 2500, "a"], [2500, 10000, "b"]]);
    const snap = await (await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } })).json() as { models: Record<string, { deployment: { variants: { name: string; version: number }[] } }> };
    expect(snap.models.churn!.deployment.variants).toEqual([{ name: "a", version: 2 }, { name: "b", version: 1 }]);
  });

  it("moves only the buckets that must move when re-weighted in preserve mode", async () => {
    const dep = await stack.admin.ok("PUT", "/v1/models/churn/deployment", {
      variants: [
        { name: "a", alias: "production", weight: 5000 },
        { name: "b", version: 1, weight: 5000 },
      ],
    });
    // a keeps its 2,500 buckets and takes 2,500 of b's: exactly 25% of units change variant.
    expect(dep.allocation).toEqual([[0, 2500, "a"], [2500, 7500, "b"], [7500, 10000, "a"]]);
  });

  it("bumps the epoch and re-randomizes in reshuffle mode, and publishes each shadow with its own salt", async () => {
    const before = await stack.admin.ok("GET", "/v1/models/churn/deployment");
    const after = await stack.admin.ok("PUT", "/v1/models/churn/deployment", {
      variants: [
        { name: "a", alias: "production", weight: 5000 },
        { name: "b", version: 1, weight: 5000 },
      ],
      shadows: [
        { version: 1, rate: 1000 },
        { alias: "production", rate: 250 },
      ],
      mode: "reshuffle",
    });
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.allocation).toEqual([[0, 5000, "a"], [5000, 10000, "b"]]);
    const snap = (await (await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } })).json()) as {
      models: Record<string, { deployment: { salt: string; shadows: { version: number; rate_bp: number; salt: string }[] } }>;
    };
    const dep = snap.models.churn!.deployment;
    expect(dep.salt).toBe(`churn:${after.epoch}`);
    expect(dep.shadows).toEqual([
      { version: 1, rate_bp: 1000, salt: "churn:shadow:1" },
      { version: 2, rate_bp: 250, salt: "churn:shadow:2" },
    ]);
  });

  it("refuses a deployment with an unknown version or a stale If-Match, storing nothing", async () => {
    const before = await tableCounts(stack);
    const bad = await stack.admin.raw("PUT", "/v1/models/churn/deployment", { variants: [{ name: "a", version: 9, weight: 10000 }] });
    expect(bad.status).toBe(400);
    const stale = await stack.controlPlane("/v1/models/churn/deployment", {
      method: "PUT",
      ...json({ variants: [{ name: "a", version: 1, weight: 10000 }] }),
      headers: { ...json({}).headers, "if-match": '"1"' },
    });
    expect(stale.status).toBe(409);
    expect(await tableCounts(stack)).toEqual(before);
  });

  it("answers 304 to a gateway that already has the current snapshot", async () => {
    const auth = { authorization: `Bearer ${GATEWAY_TOKEN}` };
    const first = await stack.controlPlane("/v1/snapshot", { headers: auth });
    const etag = first.headers.get("etag")!;
    expect((await stack.controlPlane("/v1/snapshot", { headers: { ...auth, "if-none-match": etag } })).status).toBe(304);
    await stack.admin.ok("PUT", "/v1/models/churn/aliases/staging", { version: 1 });
    const after = await stack.controlPlane("/v1/snapshot", { headers: { ...auth, "if-none-match": etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
  });
});

describe("bad input never hurts", () => {
  const routes: [string, string][] = [
    ["POST", "/v1/models"],
    ["PUT", "/v1/models/churn/aliases/production"],
    ["PUT", "/v1/models/churn/deployment"],
    ["POST", "/v1/keys"],
    ["POST", "/v1/tokens"],
    ["POST", "/v1/models/churn/promote"],
    ["POST", "/v1/models/churn/rollback"],
    ["PUT", "/v1/models/churn/promotion-rule"],
  ];

  it("answers malformed JSON with a 400 in the shared shape", async () => {
    for (const [method, path] of routes) {
      const res = await stack.controlPlane(path, { method, ...json("{oops") });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect((await errorOf(res)).message).toMatch(/malformed JSON/);
    }
  });

  // 150 runs of two full table counts each: about 50 s on a quiet machine, so a loaded one gets room.
  it("answers arbitrary JSON bodies on every mutating route without a 5xx, and a rejected one changes nothing", { timeout: 300_000 }, async () => {
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 3 }), async ([method, path], body) => {
        const before = await tableCounts(stack);
        const res = await stack.controlPlane(path, { method, ...json(body) });
        expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBeLessThan(500);
        if (res.status >= 400) {
          rejected++;
          await errorOf(res);
          expect(await tableCounts(stack)).toEqual(before);
        }
      }),
      { numRuns: 150 },
    );
    expect(rejected).toBeGreaterThan(100);
    // 150 requests with two full table counts each: a fixed amount of work that takes minutes on
    // a loaded two-core machine, so the guard is generous.
  }, 300_000);

  it("answers arbitrary version metadata with a 4xx and stores nothing", async () => {
    const before = await tableCounts(stack);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string()), async (metadata) => {
        const form = new FormData();
        form.set("artifact", new Blob([demoArtifacts().lr as BlobPart]));
        form.set("metadata", metadata);
        const res = await stack.admin.raw("POST", "/v1/models/churn/versions", form);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
    expect(await tableCounts(stack)).toEqual(before);
  });

  it("names the offending field", async () => {
    const res = await stack.controlPlane("/v1/models", { method: "POST", ...json({ name: "Bad Name!", task: "binary_classification" }) });
    expect((await errorOf(res)).message).toMatch(/^body\.name: /);
    const dep = await stack.controlPlane("/v1/models/churn/deployment", { method: "PUT", ...json({ variants: [{ name: "a", version: 1, weight: 4000 }] }) });
    expect((await errorOf(dep)).message).toMatch(/variants: weights must sum to 10000/);
  });

  it("answers unknown models and routes with 404", async () => {
    expect((await errorOf(await stack.controlPlane("/v1/models/nope", json(undefined)))).code).toBe("not_found");
    expect((await stack.controlPlane("/v1/nothing-here")).status).toBe(404);
  });
});
