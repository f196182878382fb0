// The registry an origin reads, for origin tests: the real control plane in miniflare on its own
// port, with a "churn" model whose origin versions are the same logistic regression with other biases.
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata } from "../../scripts/lib/demo.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { testStack, type TestStack } from "../../test/helpers.ts";

export const CHURN_WEIGHTS = [0.05, 0.2, 0.5, -0.3, 0.1, 0.4];

/** Starts the stack and uploads one origin version of churn per bias, in order (versions 1, 2, …); returns their sizes. */
export async function churnRegistry(biases: number[]): Promise<{ stack: TestStack; cpUrl: string; sizes: number[] }> {
  const cpPort = await freePort();
  const stack = await testStack({ ports: { gateway: await freePort(), controlPlane: cpPort } });
  await stack.admin.ok("POST", "/v1/models", { name: "churn", task: "binary_classification" });
  const sizes: number[] = [];
  for (const bias of biases) sizes.push((await stack.admin.uploadVersion("churn", logisticRegressionModel(CHURN_WEIGHTS, bias), { ...demoMetadata("lr"), runtime: "origin" })).size);
  return { stack, cpUrl: `http://127.0.0.1:${cpPort}`, sizes };
}
