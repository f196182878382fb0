// Writes tree ensembles (gradient-boosted trees) as one ai.onnx.ml TreeEnsembleRegressor:
// the sum of every tree's leaf plus a base value, optionally through a Sigmoid node. The
// regressor's own `post_transform LOGISTIC` is ignored by onnxruntime 1.30 (node and web alike:
// the raw sum comes out), so the logistic is a separate standard op.
import { onnx } from "./proto.ts";
import { encodeModel, node, valueInfo, type WriterOptions } from "./writer.ts";

/**
 * One binary tree in flat arrays, node 0 the root. A node with `feature[i] < 0` is a leaf holding
 * `value[i]`; any other node sends rows with `x[feature] <= threshold` to `left`, the rest to `right`
 * (ONNX's `BRANCH_LEQ`). Thresholds and values are written as float32.
 */
export interface FlatTree {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  value: ArrayLike<number>;
}

export interface TreeEnsembleOptions extends WriterOptions {
  /** Number of input features. */
  width: number;
  /** Added to the sum of the trees' leaves (log-odds for a classifier). */
  baseValue: number;
  /** `logistic` turns the sum into a probability. */
  outputTransform: "logistic" | "none";
}

const ML_DOMAIN = "ai.onnx.ml";
const ML_OPSET = 3;
const { AttributeType } = onnx.AttributeProto;

/** `[batch, 1]` output: `transform(baseValue + Σ tree(x))`. */
export function treeEnsembleModel(trees: readonly FlatTree[], options: TreeEnsembleOptions): Uint8Array {
  const inputName = options.inputName ?? "input";
  const outputName = options.outputName ?? (options.outputTransform === "logistic" ? "probability" : "prediction");
  const logistic = options.outputTransform === "logistic";
  const a = {
    treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], modes: [] as string[],
    values: [] as number[], trueIds: [] as number[], falseIds: [] as number[],
    targetTree: [] as number[], targetNode: [] as number[], targetWeight: [] as number[],
  };
  trees.forEach((tree, t) => {
    for (let i = 0; i < tree.feature.length; i++) {
      const leaf = tree.feature[i]! < 0;
      a.treeIds.push(t);
      a.nodeIds.push(i);
      a.featureIds.push(leaf ? 0 : tree.feature[i]!);
      a.modes.push(leaf ? "LEAF" : "BRANCH_LEQ");
      a.values.push(leaf ? 0 : tree.threshold[i]!);
      a.trueIds.push(leaf ? 0 : tree.left[i]!);
      a.falseIds.push(leaf ? 0 : tree.right[i]!);
      if (leaf) {
        a.targetTree.push(t);
        a.targetNode.push(i);
        a.targetWeight.push(tree.value[i]!);
      }
    }
  });
  const ensemble = onnx.NodeProto.create({
    opType: "TreeEnsembleRegressor",
    domain: ML_DOMAIN,
    name: "ensemble",
    input: [inputName],
    output: [logistic ? "score" : outputName],
    attribute: [
      int("n_targets", 1),
      ints("nodes_treeids", a.treeIds),
      ints("nodes_nodeids", a.nodeIds),
      ints("nodes_featureids", a.featureIds),
      strings("nodes_modes", a.modes),
      floats("nodes_values", a.values),
      ints("nodes_truenodeids", a.trueIds),
      ints("nodes_falsenodeids", a.falseIds),
      ints("target_treeids", a.targetTree),
      ints("target_nodeids", a.targetNode),
      ints("target_ids", a.targetTree.map(() => 0)),
      floats("target_weights", a.targetWeight),
      floats("base_values", [options.baseValue]),
      string("aggregate_function", "SUM"),
      string("post_transform", "NONE"),
    ],
  });
  const graph = onnx.GraphProto.create({
    name: "verge",
    node: logistic ? [ensemble, node("Sigmoid", ["score"], [outputName])] : [ensemble],
    input: [valueInfo(inputName, options.width)],
    output: [valueInfo(outputName, 1)],
  });
  return encodeModel(graph, options.producer, { [ML_DOMAIN]: ML_OPSET });
}

const encoder = new TextEncoder();
const int = (name: string, i: number) => onnx.AttributeProto.create({ name, type: AttributeType.INT, i });
const ints = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: values });
const floats = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: values });
const string = (name: string, value: string) => onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: encoder.encode(value) });
const strings = (name: string, values: string[]) =>
  onnx.AttributeProto.create({ name, type: AttributeType.STRINGS, strings: values.map((v) => encoder.encode(v)) });
