// The dashboard in a real browser (Debian's chromium, headless) against the local stack with
// real traffic: each page draws its charts from the data the API serves (checked on the arrays
// handed to the chart library), rollback from the page moves the alias and lands in the audit
// log, acknowledge works, and a viewer is offered nothing that changes state. Screenshots of
// each page go to .verge/screenshots (docs/screenshots with VERGE_UPDATE_SCREENSHOTS=1, for the README).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { ROOT } from "../scripts/lib/build.ts";
import { seedDemo } from "../scripts/lib/demo.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { launchBrowser } from "./browser.ts";
import { ADMIN_TOKEN, CLIENT_KEY, eventually, testStack, type TestStack } from "./helpers.ts";

const SHOTS = process.env.VERGE_UPDATE_SCREENSHOTS === "1" ? join(ROOT, "docs/screenshots") : join(ROOT, ".verge/screenshots");
const MIN = 60_000;
const X_REFERENCE = { features: { x: { edges: [0, 1, 2], counts: [100, 400, 400, 100] } } };

let stack: TestStack;
let url: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let viewerToken: string;
/** What was sent, per variant: the truth the charts are checked against. */
const sent: Record<string, number> = {};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: port } });
  await seedDemo(stack.admin, CLIENT_KEY);
  await stack.admin.ok("PUT", "/v1/models/demo/aliases/production", { version: 2, reason: "treatment won" });
  viewerToken = (await stack.admin.ok("POST", "/v1/tokens", { name: "wallboard", role: "viewer" })).token;

  // `shop`: two versions with a drift reference on x, split 50/50; version 2's traffic has drifted.
  await stack.admin.ok("POST", "/v1/models", { name: "shop", task: "binary_classification", description: "Checkout propensity" });
  const meta = (code: string) => ({ runtime: "edge" as const, inputs: [{ name: "input", shape: [-1, 1] }], outputs: [{ name: "probability", shape: [-1, 1] }], feature_spec: { features: [{ name: "x", type: "number" as const, default: 0 }] }, reference: X_REFERENCE, lineage: { code_version: code, training_data: "s3://lake/shop/2026-11.parquet", parent_job: `shop-${code}` } });
  await stack.admin.uploadVersion("shop", logisticRegressionModel([0.3], -0.2), meta("a1b2c3"));
  await stack.admin.uploadVersion("shop", logisticRegressionModel([0.5], -0.4), meta("d4e5f6"));
  await stack.admin.ok("PUT", "/v1/models/shop/aliases/production", { version: 1, reason: "first" });
  await stack.admin.ok("PUT", "/v1/models/shop/deployment", { variants: [{ name: "a", alias: "production", weight: 5000 }, { name: "b", version: 2, weight: 5000 }], shadows: [{ version: 2, rate: 2000 }] });

  // Thirty minutes of logged predictions, as gateways send them, through the real queue and consumer.
  const now = Date.now();
  const stationary = [-0.5, 0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 1.5, 1.5, 2.5];
  const records: LogRecord[] = [];
  for (let i = 0; i < 1200; i++) {
    const b = i % 2 === 1;
    const variant = b ? "b" : "a";
    records.push({ request_id: `shop-${i}`, ts: now - 30 * MIN + Math.floor((i / 1200) * 30 * MIN), model: "shop", version: b ? 2 : 1, variant, shadow: false, snapshot_version: 1, unit_hash: i, features: { x: b ? 2.5 + (i % 3) : stationary[(i / 2) % 10]! }, outputs: { probability: b ? 0.7 : 0.3 }, latency_ms: { total: (b ? 12 : 4) + (i % 7), features: 1, infer: 2 }, status: b && i % 40 === 1 ? "error" : "ok", degraded: [], colo: "local" });
    sent[variant] = (sent[variant] ?? 0) + 1;
    // One in five of variant a's requests is mirrored to version 2 as a shadow.
    if (!b && i % 10 === 0) records.push({ ...records.at(-1)!, version: 2, shadow: true, latency_ms: { total: 9, features: 1, infer: 3 } });
  }
  const shadows = records.filter((r) => r.shadow).length;
  const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
  for (let i = 0; i < records.length; i += 100) await q.sendBatch([{ body: { records: records.slice(i, i + 100) } }]);
  // And live traffic through the gateway for the experiment on `demo`, with labels as feedback.
  const items: { request_id: string; label: number }[] = [];
  for (let i = 0; i < 200; i += 50) {
    const replies = await Promise.all(Array.from({ length: 50 }, async (_, j) => (await (await stack.predict("demo", { unit: `user-${i + j}` })).json()) as { request_id: string; variant: string }));
    for (const [j, r] of replies.entries()) items.push({ request_id: r.request_id, label: (i + j) % (r.variant === "treatment" ? 2 : 5) === 0 ? 1 : 0 });
  }
  await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ items }) });
  await eventually(async () => {
    const m = await stack.admin.ok("GET", `/v1/models/shop/metrics?from=${now - 31 * MIN}`);
    return m.total === 1200 && m.series.some((r) => r.shadow && r.count === shadows) ? true : undefined;
  });
  await eventually(async () => ((await stack.admin.ok("GET", "/v1/models/demo/experiment")).variants.reduce((s, v) => s + v.labels.n, 0) === 200 ? true : undefined));
  // The cron's monitoring sweep raises the drift alerts.
  await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
  ({ browser, close: closeBrowser } = await launchBrowser());
}, 240_000);
afterAll(async () => {
  await closeBrowser?.();
  await stack?.dispose();
});

async function signedIn(token = ADMIN_TOKEN): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.on("pageerror", (err) => {
    throw err;
  });
  await page.goto(`${url}/ui#/models`);
  await page.waitForSelector("#signin");
  await page.type("#token", token);
  await page.click("#signin button");
  await page.waitForSelector("#models");
  return page;
}
/** Opens a dashboard route and waits until its page has rendered. */
async function open(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => {
    document.body.dataset.page = "loading";
    location.hash = h;
  }, hash);
  await page.waitForFunction(() => document.body.dataset.page === "ready");
}
/** What a chart was handed: series labels and data arrays, read back from uPlot itself. */
type Drawn = { labels: string[]; data: (number | null)[][] };
type Charts = { vergeCharts: Record<string, { series: { label?: unknown }[]; data: ArrayLike<number | null | undefined>[] }> };
const chart = (page: Page, name: string): Promise<Drawn | null> =>
  page.evaluate((n) => {
    const c = (window as unknown as Charts).vergeCharts[n];
    return c ? { labels: c.series.slice(1).map((s) => String(s.label)), data: c.data.map((col) => Array.from(col, (v) => (v === null || v === undefined ? null : Number(v)))) } : null;
  }, name);
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe("the dashboard", () => {
  let admin: Page;
  beforeAll(async () => {
    admin = await signedIn();
  });

  it("signs in with a token and lists models; a model shows its versions with lineage and alias history", async () => {
    expect(await admin.$eval("#models", (t) => t.textContent)).toMatch(/demo.*shop/s);
    expect(await admin.$eval("#role", (e) => e.textContent)).toBe("bootstrap-admin · admin");
    await shot(admin, "models");
    await open(admin, "#/models/shop");
    const versions = await admin.$eval("#versions", (t) => t.textContent!);
    expect(versions).toContain("s3://lake/shop/2026-11.parquet");
    expect(versions).toContain("d4e5f6");
    expect(await admin.$eval('[data-alias="production"]', (e) => e.textContent!)).toMatch(/production → version 1.*first/s);
    await shot(admin, "model");
  });

  it("charts traffic, error rate and p50/p99 per variant and shadow from the metrics, at minute and hour resolution", async () => {
    await open(admin, "#/models/shop/traffic?step=minute&window=1h");
    const api = await stack.admin.ok("GET", `/v1/models/shop/metrics?step=minute&from=${Date.now() - 3_600_000}`);
    const traffic = (await chart(admin, "traffic"))!;
    // Every point the API returned is drawn, on its minute, in its series.
    for (const p of api.timeseries!) {
      const i = traffic.data[0]!.indexOf(Date.parse(p.t) / 1000);
      const k = traffic.labels.indexOf(`${p.variant} v${p.version}${p.shadow ? " (shadow)" : ""}`);
      expect(i, p.t).toBeGreaterThanOrEqual(0);
      expect(traffic.data[k + 1]![i], `${p.t} ${p.variant}`).toBe(p.count);
    }
    // And the drawn counts add up to what was sent.
    const drawn = (label: string) => traffic.data[traffic.labels.indexOf(label) + 1]!.reduce((s: number, v) => s + (v ?? 0), 0);
    expect(drawn("a v1")).toBe(sent.a);
    expect(drawn("b v2")).toBe(sent.b);
    expect(drawn("a v2 (shadow)")).toBe(120);
    expect(traffic.data[0]!.length).toBeGreaterThanOrEqual(25);
    const errors = (await chart(admin, "errors"))!;
    const bErrors = errors.data[errors.labels.indexOf("b v2") + 1]!.filter((v): v is number => v !== null);
    expect(Math.max(...bErrors)).toBeGreaterThan(0);
    expect(errors.data[errors.labels.indexOf("a v1") + 1]!.every((v) => v === null || v === 0)).toBe(true);
    const latency = (await chart(admin, "latency"))!;
    expect(latency.labels).toEqual(expect.arrayContaining(["a v1 p50", "a v1 p99", "b v2 p50", "b v2 p99"]));
    const p99 = latency.data[latency.labels.indexOf("b v2 p99") + 1]!.filter((v): v is number => v !== null);
    const p50a = latency.data[latency.labels.indexOf("a v1 p50") + 1]!.filter((v): v is number => v !== null);
    expect(Math.min(...p99)).toBeGreaterThan(Math.max(...p50a));
    await shot(admin, "traffic");
    await open(admin, "#/models/shop/traffic?step=hour&window=24h");
    const hourly = (await chart(admin, "traffic"))!;
    expect(hourly.data[0]!.length).toBeLessThanOrEqual(2);
    expect(hourly.data[0]!.every((t) => (t! * 1000) % 3_600_000 === 0)).toBe(true);
    expect(hourly.data[hourly.labels.indexOf("a v1") + 1]!.reduce((s: number, v) => s + (v ?? 0), 0)).toBe(sent.a);
  });

  it("overlays reference and current histograms per feature, with PSI, JS and the test against thresholds, and names the alerting features", async () => {
    await open(admin, "#/models/shop/drift");
    const report = await stack.admin.ok("GET", "/v1/models/shop/drift");
    const v2 = report.versions.find((v) => v.version === 2)!;
    const x = v2.features.find((f) => f.feature === "x")!;
    const drawn = (await chart(admin, "drift-v2-x"))!;
    expect(drawn.labels).toEqual(["reference", "current"]);
    const share = (xs: number[]) => xs.map((v) => v / xs.reduce((s, y) => s + y, 0));
    expect(drawn.data[1]).toEqual(share(X_REFERENCE.features.x.counts));
    expect(drawn.data[2]).toEqual(share(x.current));
    expect(x.status).toBe("alert");
    expect(await admin.$eval("#alerting-v2", (e) => e.textContent)).toBe("alerting: x");
    expect(await admin.$("#alerting-v1")).toBeNull();
    expect(await admin.$eval("#thresholds", (e) => e.textContent!)).toMatch(/PSI warn ≥ 0\.1, alert ≥ 0\.25/);
    expect(await admin.$eval('[data-version="2"]', (e) => e.textContent!)).toContain(x.psi!.toFixed(3));
    await shot(admin, "drift");
  });

  it("shows the experiment: intervals, the sequential p-value over time, the sample-ratio banner and sample-size progress", async () => {
    await open(admin, "#/models/demo/experiment");
    const report = await stack.admin.ok("GET", "/v1/models/demo/experiment");
    expect(await admin.$eval("#srm", (e) => e.className)).toContain(report.sample_ratio_mismatch.mismatch ? "bad" : "good");
    expect(await admin.$eval("#variants", (e) => e.textContent!)).toMatch(/control.*\[\d+\.\d\d%, \d+\.\d\d%\]/s);
    const p = (await chart(admin, "pvalue"))!;
    expect(p.data[0]!.length).toBe(8);
    expect(p.labels[1]).toBe("treatment vs control: positive rate");
    // The curve ends at the window's own p-value.
    expect(p.data[2]!.at(-1)).toBeCloseTo(report.sequential_test.comparisons[0]!.positive_rate!.p_value, 6);
    expect(await admin.$eval("#sample-size", (e) => e.textContent!)).toMatch(/\d+ of \d+ per arm/);
    await shot(admin, "experiment");
  });

  it("acknowledges an alert from the page", async () => {
    await open(admin, "#/alerts");
    const open0 = (await stack.admin.ok("GET", "/v1/alerts?status=open")).alerts;
    expect(open0.length).toBeGreaterThan(0);
    await shot(admin, "alerts");
    const id = open0[0]!.id;
    await admin.click(`[data-ack="${id}"]`);
    await admin.waitForFunction((i) => !document.querySelector(`[data-ack="${i}"]`), {}, id);
    const after = (await stack.admin.ok("GET", "/v1/alerts")).alerts.find((a) => a.id === id)!;
    expect(after).toMatchObject({ status: "acknowledged", acked_by: "bootstrap-admin" });
  });

  it("rolls back from the page after a confirmation with a reason, and the audit log shows it", async () => {
    await open(admin, "#/models/demo/deployment");
    expect(await admin.$eval("#deployment", (e) => e.textContent!)).toMatch(/control.*alias production.*2.*50%/s);
    await shot(admin, "deployment");
    await admin.click("#rollback");
    await admin.waitForSelector("#confirm[open]");
    await admin.type("#confirm-reason", "p99 regression on treatment");
    await admin.click("#confirm-ok");
    await admin.waitForSelector(".notice.ok");
    expect(await admin.$eval(".notice.ok", (e) => e.textContent)).toBe("production rolled back to version 1 (was 2)");
    const aliases = await stack.admin.ok("GET", "/v1/models/demo/aliases");
    expect(aliases.aliases.find((a) => a.alias === "production")!.version).toBe(1);
    await open(admin, "#/audit");
    const first = await admin.$eval("#audit tbody tr", (r) => r.textContent!);
    expect(first).toContain("alias.rollback");
    expect(first).toContain("p99 regression on treatment");
    expect(first).toContain("bootstrap-admin");
    await shot(admin, "audit");
  });

  it("offers a viewer nothing that changes state", async () => {
    const viewer = await signedIn(viewerToken);
    expect(await viewer.$eval("#role", (e) => e.textContent)).toBe("token:" + (await stack.admin.ok("GET", "/v1/tokens")).tokens.find((t) => t.name === "wallboard")!.id + ":wallboard · viewer");
    await open(viewer, "#/models/demo/deployment");
    expect(await viewer.$("#deployment")).not.toBeNull();
    for (const button of ["#rollback", "#promote", "#cancel-rollout"]) expect(await viewer.$(button), button).toBeNull();
    await open(viewer, "#/alerts");
    expect(await viewer.$$eval("#alerts tbody tr", (rows) => rows.length)).toBeGreaterThan(0);
    expect(await viewer.$$("[data-ack]")).toHaveLength(0);
    expect(await viewer.$$("button:not(#signout):not([value])")).toHaveLength(0);
    await shot(viewer, "viewer-deployment");
  });
});
