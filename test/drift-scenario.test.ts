// The planted-drift scenario, end to end: traffic through the gateway, logs through the queue,
// rollups in D1, and the drift report. Feature x shifts for one model; a stationary control
// model gets the same traffic without the shift.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binOf, psi, type FeatureSpec, type LogRecord } from "@verge/shared";
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

// The reference: 20,000 training rows from the stationary distribution.
const train = Array.from({ length: 20_000 }, ((r) => () => draw(r, 0))(rng(1)));
const reference = {
  features: {
    x: { edges: X_EDGES, counts: histogram(train, "x", X_EDGES) },
    y: { edges: Y_EDGES, counts: histogram(train, "y", Y_EDGES) },
    c: { categories: ["a", "b", "c"], counts: [...["a", "b", "c"].map((k) => train.filter((t) => t.c === k).length), 0] },
  },
};

/** Registers a model with the reference and deploys its version alone. */
async function deploy(name: string): Promise<void> {
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

beforeAll(async () => {
  stack = await testStack();
  for (const name of ["control", "shifted"]) await deploy(name);
  await stack.admin.ok("POST", "/v1/keys", { name: "k", models: ["*"], key: CLIENT_KEY });
});
afterAll(() => stack?.dispose());

type Report = { versions: { status: string; alerts: string[]; features: { feature: string; psi: number; samples: number; status: string; current: number[] }[] }[] };

describe("planted drift", () => {
  it("alerts on x only for the shifted traffic, with PSI equal to the offline value from the same counts; the control stays quiet", { timeout: 180_000 }, async () => {
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
    const report = async (name: string) => stack.admin.ok("GET", `/v1/models/${name}/drift`);
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

    // The rollups' histogram of x is exactly the histogram of the values sent, so the PSI the
    // control plane reports is exactly the PSI computed offline from them (same function, same counts).
    const refX = (await stack.admin.ok("GET", "/v1/models/shifted/versions/1")).reference!.features.x!.counts;
    const offlineCounts = histogram(sent.shifted!, "x", X_EDGES);
    const online = shifted.versions[0]!.features.find((f) => f.feature === "x")!;
    expect(online.current).toEqual(offlineCounts);
    expect(online.psi).toBe(psi(refX, offlineCounts));
    expect(online.psi).toBeGreaterThan(0.25);

    // Per-model thresholds: tight enough, and even the stationary control's sampling noise alerts.
    expect((await stack.admin.raw("PUT", "/v1/models/control/drift-thresholds", { psi_alert: -1 })).status).toBe(400);
    const set = await stack.admin.ok("PUT", "/v1/models/control/drift-thresholds", { psi_warn: 1e-6, psi_alert: 1e-5 });
    expect(set).toMatchObject({ psi_alert: 1e-5, psi_warn: 1e-6 });
    const tight = await report("control");
    expect(tight.versions[0]!.alerts.length).toBeGreaterThan(0);
  });

  it("a burst of concurrent predictions is counted in full (log sends stay within the queue's limits)", async () => {
    const before = (await stack.admin.ok("GET", "/v1/models/control/drift")).versions[0]!.features[0]!.samples;
    const r = rng(9);
    // 30 requests of 100 rows at once: the isolate's log batch fills past 1,000 records (≈ 300 KB).
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stack.predict("control", { unit: `burst-${i}`, instances: Array.from({ length: 100 }, () => ({ features: draw(r, 0) })) })),
    );
    expect(responses.every((res) => res.status === 200)).toBe(true);
    await eventually(async () => {
      const samples = (await stack.admin.ok("GET", "/v1/models/control/drift")).versions[0]!.features[0]!.samples;
      return samples === before + 3000 ? true : undefined;
    }, 60_000);
  });
});

describe("alert timing", () => {
  const MIN = 60_000;
  const WINDOW = 60 * MIN; // the cron sweep's default window

  it("a shift at T is alerted by the first sweep whose window ends at T + one window, judged on [T, T + window)", { timeout: 120_000 }, async () => {
    // The sweep below runs as the cron tick of a moment inside `minute` (the tick's own time, not the clock's).
    const minute = Math.floor(Date.now() / MIN) * MIN;
    // A sweep during `minute` judges [minute + 1 min − WINDOW, minute + 1 min), its whole minutes up to the current one:
    // for "late" that is exactly the window after its shift; for "early" the shift is only a quarter window old.
    const shiftAt = { late: minute + MIN - WINDOW, early: minute + MIN - WINDOW / 4 };
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    const sent: Record<string, number> = {};
    for (const [name, T, seed] of [["late", shiftAt.late, 11], ["early", shiftAt.early, 12]] as const) {
      await deploy(name);
      // 50 records a minute: drawn from the reference's distribution for a window before T, with x's mean moved by one sd from T until now.
      const r = rng(seed);
      const now = Date.now();
      const perMs = 50 / MIN;
      const spans = [
        { from: T - WINDOW, to: T, mean: 0 },
        { from: T, to: now, mean: 1 },
      ];
      const records: LogRecord[] = spans.flatMap(({ from, to, mean }) =>
        Array.from({ length: Math.round((to - from) * perMs) }, (_, i) => ({
          request_id: `${name}-${mean}-${i}`,
          ts: from + Math.floor(i / perMs),
          model: name,
          version: 1,
          variant: "main",
          shadow: false,
          snapshot_version: 1,
          unit_hash: i,
          features: draw(r, mean),
          outputs: { probability: 0.5 },
          latency_ms: { total: 2, features: 0, infer: 1 },
          status: "ok" as const,
          degraded: [],
          colo: "t",
        })),
      );
      for (let i = 0; i < records.length; i += 500) await q.sendBatch([0, 100, 200, 300, 400].map((j) => records.slice(i + j, i + j + 100)).filter((rs) => rs.length).map((rs) => ({ body: { records: rs } })));
      sent[name] = records.length;
    }
    for (const name of Object.keys(shiftAt)) {
      const everything = `from=${shiftAt.late - 2 * WINDOW}&to=${minute + MIN}`;
      await eventually(async () => ((await stack.admin.ok("GET", `/v1/models/${name}/drift?${everything}`)).versions[0]?.features[0]?.samples === sent[name] ? true : undefined), 60_000);
    }

    const at = minute + 30_000;
    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *", scheduledTime: new Date(at) });

    type Alert = { kind: string; subject: string; opened_at: string; details: { window: { from: string; to: string } } };
    const open = async (name: string) => (await stack.admin.ok("GET", `/v1/alerts?model=${name}`)).alerts;
    const alerts = await open("late");
    expect(alerts.map((a) => [a.kind, a.subject])).toEqual([["drift", "x"]]);
    const late = alerts[0]!;
    const judged = late.details.window as { from: string; to: string };
    // The evidence lies within one window after T: from T (no traffic from before the shift) to T + window.
    expect(Date.parse(judged.from) - shiftAt.late).toBe(0);
    expect(Date.parse(judged.to) - shiftAt.late).toBe(WINDOW);
    expect(Date.parse(late.opened_at)).toBe(at);
    expect(at - shiftAt.late).toBeLessThanOrEqual(WINDOW);
    // A quarter window after its shift, three quarters of the window still predate it (PSI ≈ 0.06): no alert yet.
    expect(await open("early")).toEqual([]);
  });
});
