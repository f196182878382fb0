// The `demo` model: two real versions (logistic regression and an MLP) over the same features,
// every feature with a default, so a request carrying only a unit gets an answer.
import { encodeRows, sha256Hex, versionViewSchema, type FeatureSpec, type RawRow, type VersionMetadata } from "@verge/shared";
import { logisticRegressionModel, mlpModel } from "@verge/shared/onnx/writer";
import type { ControlPlaneClient } from "@verge/client";

export const DEMO_FEATURE_SPEC: FeatureSpec = {
  input: "input",
  features: [
    { name: "tenure_months", type: "number", default: 12 },
    { name: "sessions_7d", type: "number", default: 3 },
    { name: "is_member", type: "boolean", default: false },
    { name: "plan", type: "categorical", vocabulary: ["free", "pro", "team"], default: "free" },
  ],
  views: [],
};

const WIDTH = 6;

export const DEMO_LR = { weights: [0.04, 0.3, 0.8, -0.5, 0.4, 0.9], bias: -1.2 };

/** A 6-16-1 MLP with fixed, varied weights (deterministic, no training needed). */
export const DEMO_MLP = (() => {
  const hidden = 16;
  const w0 = Array.from({ length: WIDTH * hidden }, (_, i) => Math.sin(i * 1.7) * 0.5);
  const b0 = Array.from({ length: hidden }, (_, i) => Math.cos(i) * 0.1);
  const w1 = Array.from({ length: hidden }, (_, i) => Math.sin(i * 0.9 + 0.3) * 0.6);
  return { layers: [{ weights: w0, bias: b0 }, { weights: w1, bias: [-0.2] }] };
})();

export function demoArtifacts() {
  return {
    lr: logisticRegressionModel(DEMO_LR.weights, DEMO_LR.bias),
    mlp: mlpModel(DEMO_MLP.layers, "sigmoid"),
  };
}

export function demoMetadata(kind: "lr" | "mlp"): VersionMetadata {
  return {
    runtime: "edge",
    inputs: [{ name: "input", shape: [-1, WIDTH], datatype: "FP32" }],
    outputs: [{ name: "probability", shape: [-1, 1], datatype: "FP32" }],
    feature_spec: DEMO_FEATURE_SPEC,
    metrics: {},
    lineage: { code_version: "demo", params: { kind } },
    description: kind === "lr" ? "logistic regression" : "multi-layer perceptron 6-16-1",
  };
}

/** The demo models' math in plain JS, to check served outputs independently of ONNX. */
export function demoExpected(kind: "lr" | "mlp", row: RawRow): number {
  const x = Array.from(encodeRows(DEMO_FEATURE_SPEC, [row]));
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  if (kind === "lr") return sigmoid(x.reduce((s, v, i) => s + v * DEMO_LR.weights[i]!, DEMO_LR.bias));
  const [l0, l1] = DEMO_MLP.layers as [{ weights: number[]; bias: number[] }, { weights: number[]; bias: number[] }];
  const h = l0.bias.map((b, j) => Math.max(0, x.reduce((s, v, i) => s + v * l0.weights[i * l0.bias.length + j]!, b)));
  return sigmoid(h.reduce((s, v, j) => s + v * l1.weights[j]!, l1.bias[0]!));
}

/**
 * Creates `demo` with both versions deployed 50/50 and a client key. Each step checks what is
 * already there, so a second start, or one after a crash part-way, finishes the job.
 */
export async function seedDemo(admin: ControlPlaneClient, clientKey: string): Promise<string[]> {
  const done: string[] = [];
  const model = await admin.raw("POST", "/v1/models", { name: "demo", task: "binary_classification", description: "Churn demo: two versions, 50/50" });
  if (model.status === 201) done.push("model");
  else if (model.status !== 409) throw new Error(`creating demo: ${model.status} ${JSON.stringify(model.body)}`);

  const { lr, mlp } = demoArtifacts();
  const have = await admin.ok("GET", "/v1/models/demo/versions");
  const versionOf = async (kind: "lr" | "mlp", bytes: Uint8Array) => {
    const sha = await sha256Hex(bytes);
    const found = have.versions.find((v) => v.sha256 === sha);
    if (found) return found.version;
    done.push(`version ${kind}`);
    return (await admin.uploadVersion("demo", bytes, demoMetadata(kind))).version;
  };
  const v1 = await versionOf("lr", lr);
  const v2 = await versionOf("mlp", mlp);

  const aliases = await admin.ok("GET", "/v1/models/demo/aliases");
  if (!aliases.aliases.some((a) => a.alias === "production")) {
    await admin.ok("PUT", "/v1/models/demo/aliases/production", { version: v1, reason: "initial" });
    done.push("alias");
  }
  if ((await admin.raw("GET", "/v1/models/demo/deployment")).status === 404) {
    await admin.ok("PUT", "/v1/models/demo/deployment", {
      variants: [
        { name: "control", alias: "production", weight: 5000 },
        { name: "treatment", version: v2, weight: 5000 },
      ],
    });
    done.push("deployment");
  }
  const key = await admin.raw("POST", "/v1/keys", { name: "demo client", models: ["demo"], key: clientKey });
  if (key.status === 201) done.push("client key");
  else if (key.status !== 409) throw new Error(`creating the demo key: ${key.status} ${JSON.stringify(key.body)}`);
  return done;
}

/** A version as the registry presents it (checked against the contract, as the origin's client will). */
export function registeredVersion(sha256: string, size: number, width: number) {
  return versionViewSchema.parse({
    runtime: "origin",
    inputs: [{ name: "input", shape: [-1, width] }],
    outputs: [{ name: "probability", shape: [-1, 1] }],
    feature_spec: { features: Array.from({ length: width }, (_, i) => ({ name: `f${i}`, type: "number", default: 0 })) },
    version: 1,
    sha256,
    size,
    created_at: "2026-11-01T00:00:00.000Z",
    created_by: "test",
  });
}
