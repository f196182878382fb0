// Feedback that can be trusted: a label joins a prediction of a model its key may label, keyed by
// (model, prediction); the first label of a prediction stands (a later, different one is counted as
// a conflict); a label that comes before its prediction waits for it; one that never finds it is
// kept as a dead letter.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata } from "../scripts/lib/demo.ts";
import { eventually, lakeRecords, testStack, waitForCount, type TestStack } from "./helpers.ts";

let stack: TestStack;
const KEY = { alpha: "vk_alpha_key_0123456789abcdefghi", beta: "vk_beta_key_0123456789abcdefghij" };

beforeAll(async () => {
  // No backoff between tries here, so a label that never joins becomes a dead letter quickly.
  stack = await testStack({ controlPlaneBindings: { FEEDBACK_RETRY_BASE_S: "0" } });
  for (const name of ["alpha", "beta"] as const) {
    await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
    const v = await stack.admin.uploadVersion(name, logisticRegressionModel([0.1, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    await stack.admin.ok("PUT", `/v1/models/${name}/deployment`, { variants: [{ name: "main", version: v.version, weight: 10000 }] });
    await stack.admin.ok("POST", "/v1/keys", { name, models: [name], key: KEY[name] });
  }
});
afterAll(() => stack?.dispose());

const predict = (model: "alpha" | "beta", id: string) => stack.predict(model, { unit: id, request_id: id }, { authorization: `Bearer ${KEY[model]}` });
const label = (key: string, body: unknown) => stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
type Labels = { n: number; conflicts: number; positive_rate: number | null };
const labelsOf = async (model: string) => (await stack.admin.api.experiment({ params: { model } })).variants[0]!.labels;
const labelled = async (model: string) => Object.fromEntries((await lakeRecords(stack, model, { labels: "only" })).map((r) => [r.request_id, r.label]));
const deadFeedback = async () => (await stack.admin.api.listDeadLetters({ query: { queue: "feedback" } })).dead_letters;

describe("who may label what", () => {
  it("a key scoped to model A cannot change model B's metrics", async () => {
    for (let i = 0; i < 10; i++) for (const m of ["alpha", "beta"] as const) expect((await predict(m, `${m}-${i}`)).status).toBe(200);
    // Both models made a prediction under the same request id.
    expect((await predict("alpha", "shared-1")).status).toBe(200);
    expect((await predict("beta", "shared-1")).status).toBe(200);
    await waitForCount(stack, "alpha", 11);
    await waitForCount(stack, "beta", 11);

    // Naming model B outright: refused, nothing queued.
    const named = await label(KEY.alpha, { items: [{ request_id: "beta-1", label: 1, model: "beta" }] });
    expect(named.status).toBe(403);
    // Without a model, alpha's key looks among alpha's predictions only: beta's ids find nothing.
    const reasons = /prediction was not found/;
    const before = (await deadFeedback()).filter((d) => reasons.test(d.reason)).reduce((s, d) => s + d.messages, 0);
    expect((await label(KEY.alpha, { items: Array.from({ length: 10 }, (_, i) => ({ request_id: `beta-${i}`, label: 1 })) })).status).toBe(202);
    // A request id both models used: the label joins alpha's prediction, not beta's.
    expect((await label(KEY.alpha, { request_id: "shared-1", label: 1 })).status).toBe(202);
    await eventually(async () => ((await labelled("alpha"))["shared-1"] === 1 ? true : undefined));
    await eventually(async () => {
      const dead = (await deadFeedback()).filter((d) => reasons.test(d.reason)).reduce((s, d) => s + d.messages, 0);
      return dead - before === 10 ? true : undefined;
    }, 60_000);
    expect(await labelsOf("beta")).toMatchObject({ n: 0, conflicts: 0 });
    expect(await labelled("beta")).toEqual({});
    expect(await labelled("alpha")).toEqual({ "shared-1": 1 });
  });

  it("the key that made a prediction, or any key scoped to its model, may label it", async () => {
    expect((await label(KEY.beta, { request_id: "beta-1", label: 0 })).status).toBe(202);
    expect((await label(KEY.beta, { request_id: "beta-2", label: 1, model: "beta" })).status).toBe(202);
    await eventually(async () => (Object.keys(await labelled("beta")).length === 2 ? true : undefined));
    expect(await labelled("beta")).toEqual({ "beta-1": 0, "beta-2": 1 });
  });
});

describe("second labels", () => {
  it("the first label stands; a different second label is counted as a conflict, the same one as nothing new", async () => {
    expect((await label(KEY.alpha, { request_id: "alpha-1", label: 1 })).status).toBe(202);
    await eventually(async () => ((await labelled("alpha"))["alpha-1"] === 1 ? true : undefined));
    const mark = stack.batches.length;
    expect((await label(KEY.alpha, { request_id: "alpha-1", label: 0 })).status).toBe(202);
    expect((await label(KEY.alpha, { request_id: "alpha-1", label: 1 })).status).toBe(202);
    // Both consumed: one conflict, one duplicate.
    await eventually(async () => {
      const lines = stack.batches.slice(mark).filter((b) => b.queue === "verge-feedback");
      return lines.reduce((s, b) => s + (b.conflicts ?? 0), 0) === 1 && lines.reduce((s, b) => s + (b.duplicates ?? 0), 0) === 1 ? true : undefined;
    });
    expect(await labelsOf("alpha")).toMatchObject({ n: 2, conflicts: 1, positive_rate: 1 });
    expect((await labelled("alpha"))["alpha-1"]).toBe(1);
  });
});

describe("timing", () => {
  it("a label sent before its prediction is counted waits for it, and joins it", async () => {
    expect((await label(KEY.alpha, { request_id: "early-1", label: 1 })).status).toBe(202);
    expect((await predict("alpha", "early-1")).status).toBe(200);
    await eventually(async () => ((await labelled("alpha"))["early-1"] === 1 ? true : undefined));
  });
});
