// The planted-drift scenario, end to end: traffic through the gateway, logs through the queue,
// rollups in D1, and the drift report. Feature x shifts for one model; a stationary control
// model gets the same traffic without the shift.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binOf, psi, type FeatureSpec } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { CLIENT_KEY, eventually, testStack, type TestStack } from "./helpers.ts";

let stack: TestStack;

function rng(seed: number) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (mean: number, sd: number) => mean + sd * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const spec: FeatureSpec = {
  input: "input",
  views: [],
  features: [
    { name: "x", type: "number", default: 0 },
    { name: "y", type: "number", default: 5 },
    { name: "c", type: "categorical", vocabulary: ["a", "b", "c"], default: "a" },
  ],
};
const X_EDGES = [-1.5, -1, -0.5, 0, 0.5, 1, 1.5];
const Y_EDGES = [2, 3, 4, 5, 6, 7, 8];
type Row = { x: number; y: number; c: string };
const draw = (r: ReturnType<typeof rng>, xMean: number): Row => ({ x: r.normal(xMean, 1), y: r.normal(5, 2), c: r.uniform() < 0.5 ? "a" : r.uniform() < 0.6 ? "b" : "c" });
const histogram = (rows: Row[], f: "x" | "y", edges: number[]) => {
  const counts = Array(edges.length + 1).fill(0);
  for (const row of rows) counts[binOf({ edges }, row[f])!]++;
  return counts;
};

beforeAll(async () => {
  stack = await testStack();
  // The reference: 20,000 training rows from the stationary distribution.
  const train = Array.from({ length: 20_000 }, ((r) => () => draw(r, 0))(rng(1)));
  const cCounts = ["a", "b", "c"].map((k) => train.filter((t) => t.c === k).length);
  const reference = {
    features: {
      x: { edges: X_EDGES, counts: histogram(train, "x", X_EDGES) },
      y: { edges: Y_EDGES, counts: histogram(train, "y", Y_EDGES) },
      c: { categories: ["a", "b", "c"], counts: [...cCounts, 0] },
    },
  };
  for (const name of ["control", "shifted"]) {
    await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
    // The model ignores x, so only the input distribution drifts, not the prediction.
    const v = await stack.admin.uploadVersion(name, logisticRegressionModel([0, 0.3, 0.5, -0.2, 0.1], -1), {
      runtime: "edge",
      inputs: [{ name: "input", shape: [-1, 5] }],
      outputs: [{ name: "probability", shape: [-1, 1] }],
      feature_spec: spec,
      reference,
    });
    await stack.admin.ok("PUT", `/v1/models/${name}/deployment`, { variants: [{ name: "main", version: v.version, weight: 10000 }] });
  }
  await stack.admin.ok("POST", "/v1/keys", { name: "k", models: ["*"], key: CLIENT_KEY });
});
afterAll(() => stack?.dispose());

type Report = { versions: { status: string; alerts: string[]; features: { feature: string; psi: number; samples: number; status: string }[] }[] };

describe("planted drift", () => {
  it("alerts on x only for the shifted traffic, with PSI matching the offline value; the control stays quiet", { timeout: 180_000 }, async () => {
    const N = 3000;
    const sent: Record<string, Row[]> = { control: [], shifted: [] };
    for (const [name, mean, seed] of [["control", 0, 2], ["shifted", 1, 3]] as const) {
      const r = rng(seed);
      for (let i = 0; i < N; i += 100) {
        const rows = Array.from({ length: 100 }, () => draw(r, mean));
        sent[name]!.push(...rows);
        const res = await stack.predict(name, { unit: `${name}-${i}`, instances: rows.map((features) => ({ features })) });
        expect(res.status).toBe(200);
      }
    }
    const report = async (name: string) => stack.admin.ok<Report>("GET", `/v1/models/${name}/drift`);
    const seen: Record<string, unknown> = {};
    const complete = (name: string) =>
      eventually(async () => {
        const r = await report(name);
        seen[name] = r.versions[0]?.features.map((f) => f.samples);
        return r.versions[0]?.features.every((f) => f.samples === N) ? r : undefined;
      }, 90_000).catch((err: Error) => {
        throw new Error(`${err.message}; samples seen: ${JSON.stringify(seen)}`);
      });
    const shifted = await complete("shifted");
    const control = await complete("control");

    expect(shifted.versions[0]!.alerts).toEqual(["x"]);
    expect(control.versions[0]!.alerts).toEqual([]);
    expect(control.versions[0]!.status).toBe("ok");

    // PSI from the rollups equals PSI computed offline from the very values sent.
    const refX = (await stack.admin.ok<{ reference: { features: { x: { counts: number[] } } } }>("GET", "/v1/models/shifted/versions/1")).reference.features.x.counts;
    const offline = psi(refX, histogram(sent.shifted!, "x", X_EDGES));
    const online = shifted.versions[0]!.features.find((f) => f.feature === "x")!.psi;
    expect(Math.abs(online - offline) / offline).toBeLessThan(0.01);
    expect(offline).toBeGreaterThan(0.25);

    // Per-model thresholds: tight enough, and even the stationary control's sampling noise alerts.
    expect((await stack.admin.call("PUT", "/v1/models/control/drift-thresholds", { psi_alert: -1 })).status).toBe(400);
    const set = await stack.admin.ok<{ psi_alert: number; psi_warn: number }>("PUT", "/v1/models/control/drift-thresholds", { psi_warn: 1e-6, psi_alert: 1e-5 });
    expect(set).toMatchObject({ psi_alert: 1e-5, psi_warn: 1e-6 });
    const tight = await report("control");
    expect(tight.versions[0]!.alerts.length).toBeGreaterThan(0);
  });

  it("a burst of concurrent predictions is counted in full (log sends stay within the queue's limits)", async () => {
    const before = (await stack.admin.ok<Report>("GET", "/v1/models/control/drift")).versions[0]!.features[0]!.samples;
    const r = rng(9);
    // 30 requests of 100 rows at once: the isolate's log batch fills past 1,000 records (≈ 300 KB).
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stack.predict("control", { unit: `burst-${i}`, instances: Array.from({ length: 100 }, () => ({ features: draw(r, 0) })) })),
    );
    expect(responses.every((res) => res.status === 200)).toBe(true);
    await eventually(async () => {
      const samples = (await stack.admin.ok<Report>("GET", "/v1/models/control/drift")).versions[0]!.features[0]!.samples;
      return samples === before + 3000 ? true : undefined;
    }, 60_000);
  });
});
