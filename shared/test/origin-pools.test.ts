import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { originPoolsFrom } from "../src/schemas/origin-pools.ts";

describe("origin pool configuration", () => {
  it("makes ORIGIN_URL the default pool, signed with ORIGIN_SECRET", () => {
    const r = originPoolsFrom({ ORIGIN_URL: "http://gpu-1:8789, http://gpu-2:8789" });
    expect(r).toEqual({ ok: true, pools: { default: expect.objectContaining({ nodes: [{ url: "http://gpu-1:8789", weight: 1 }, { url: "http://gpu-2:8789", weight: 1 }], auth: { kind: "hmac", secret: "ORIGIN_SECRET" }, versions: "verge" }) } });
  });

  it("reads named pools with weights and auth, and a default pool in the JSON wins over ORIGIN_URL", () => {
    const r = originPoolsFrom({
      ORIGIN_URL: "http://ignored:1",
      ORIGIN_POOLS: JSON.stringify({
        default: { nodes: ["http://a:8789", { url: "http://b:8789", weight: 3 }] },
        triton: { nodes: ["https://triton.internal"], auth: { kind: "bearer", token: "TRITON_TOKEN" }, versions: "none", model_names: { churn: "churn_onnx" } },
      }),
    });
    if (!r.ok) throw new Error(r.message);
    expect(r.pools.default!.nodes).toEqual([{ url: "http://a:8789", weight: 1 }, { url: "http://b:8789", weight: 3 }]);
    expect(r.pools.triton).toMatchObject({ auth: { kind: "bearer", token: "TRITON_TOKEN" }, versions: "none", model_names: { churn: "churn_onnx" } });
  });

  it("names the bad field", () => {
    expect(originPoolsFrom({ ORIGIN_POOLS: "{nope" })).toEqual({ ok: false, message: "ORIGIN_POOLS: must be a JSON object of pools" });
    const bad = (pools: unknown) => originPoolsFrom({ ORIGIN_POOLS: JSON.stringify(pools) });
    expect(bad({ gpu: { nodes: [] } })).toMatchObject({ ok: false, message: expect.stringMatching(/^ORIGIN_POOLS\.gpu\.nodes: /) });
    expect(bad({ gpu: { nodes: ["ftp://x"] } })).toMatchObject({ ok: false, message: expect.stringMatching(/^ORIGIN_POOLS\.gpu\.nodes\.0/) });
    expect(bad({ gpu: { nodes: ["http://x"], auth: { kind: "bearer", token: "lower-case" } } })).toMatchObject({ ok: false, message: expect.stringMatching(/^ORIGIN_POOLS\.gpu\.auth\.token: must name a binding/) });
    expect(bad({ gpu: { nodes: ["http://x"], secret: "inline" } })).toMatchObject({ ok: false, message: expect.stringMatching(/^ORIGIN_POOLS\.gpu/) });
    expect(bad({ "GPU!": { nodes: ["http://x"] } })).toMatchObject({ ok: false });
  });

  it("accepts the README's example pools", () => {
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    const json = /ORIGIN_POOLS = '''([\s\S]*?)'''/.exec(readme)?.[1];
    const r = originPoolsFrom({ ORIGIN_POOLS: json });
    if (!r.ok) throw new Error(r.message);
    expect(Object.keys(r.pools)).toEqual(["gpu", "kserve", "triton"]);
  });
});
