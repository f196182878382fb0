// `npm run -s model -- --inputs N --out FILE`: writes a small logistic-regression ONNX model (one
// FP32 input `input` [-1, N], one output `probability` [-1, 1]), ready to upload as a version.
// Weights are fixed (0.5, -0.25, 0.125…) so the same command always makes the same file.
import { writeFileSync } from "node:fs";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const inputs = Number(flag("inputs", "2"));
const out = flag("out", "model.onnx");
if (!Number.isInteger(inputs) || inputs < 1 || inputs > 10_000) {
  console.error("--inputs: a whole number of input columns, 1 to 10000");
  process.exit(2);
}
const weights = Array.from({ length: inputs }, (_, i) => (i % 2 ? -1 : 1) * 0.5 ** (i + 1));
writeFileSync(out, logisticRegressionModel(weights, 0));
console.log(`wrote ${out}: input "input" [-1, ${inputs}] → output "probability" [-1, 1]`);
