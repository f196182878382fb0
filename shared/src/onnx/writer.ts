// Writes real ONNX models from weights: logistic regression and multi-layer perceptrons.
// The trainer exports what it learns through these; tests and the demo run the same files.
import { onnx } from "./proto.ts";

export interface DenseLayer {
  /** Row-major [inputs, outputs]. */
  weights: ArrayLike<number>;
  bias: ArrayLike<number>;
}

export interface WriterOptions {
  inputName?: string;
  outputName?: string;
  producer?: string;
}

const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** `sigmoid(x · w + b)` as a [batch, 1] output. */
export function logisticRegressionModel(weights: ArrayLike<number>, bias: number, options: WriterOptions = {}): Uint8Array {
  return mlpModel([{ weights, bias: [bias] }], "sigmoid", options);
}

/**
 * Dense layers with ReLU between them, and `sigmoid` or no activation after the last.
 * Layer i's weight matrix has shape [width(i), width(i+1)].
 */
export function mlpModel(layers: readonly DenseLayer[], outputActivation: "sigmoid" | "none", options: WriterOptions = {}): Uint8Array {
  if (layers.length === 0) throw new RangeError("an MLP needs at least one layer");
  const inputName = options.inputName ?? "input";
  const outputName = options.outputName ?? (outputActivation === "sigmoid" ? "probability" : "prediction");
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  let current = inputName;
  let width = 0;
  layers.forEach((layer, i) => {
    const outWidth = layer.bias.length;
    const inWidth = layer.weights.length / outWidth;
    if (!Number.isInteger(inWidth) || inWidth < 1) throw new RangeError(`layer ${i}: weights do not fit bias width ${outWidth}`);
    if (i > 0 && inWidth !== width) throw new RangeError(`layer ${i}: takes ${inWidth} inputs, previous layer gives ${width}`);
    if (i === 0) width = inWidth;
    const last = i === layers.length - 1;
    initializers.push(floatTensor(`W${i}`, [inWidth, outWidth], layer.weights), floatTensor(`B${i}`, [outWidth], layer.bias));
    nodes.push(node("MatMul", [current, `W${i}`], [`mm${i}`]));
    const sum = last && outputActivation === "none" ? outputName : `z${i}`;
    nodes.push(node("Add", [`mm${i}`, `B${i}`], [sum]));
    if (!last) nodes.push(node("Relu", [sum], [`h${i}`]));
    else if (outputActivation === "sigmoid") nodes.push(node("Sigmoid", [sum], [outputName]));
    current = last ? outputName : `h${i}`;
    width = outWidth;
  });
  const firstIn = layers[0]!.weights.length / layers[0]!.bias.length;
  return encodeModel(
    onnx.GraphProto.create({
      name: "verge",
      node: nodes,
      initializer: initializers,
      input: [valueInfo(inputName, firstIn)],
      output: [valueInfo(outputName, width)],
    }),
    options.producer,
  );
}

/** Wraps a graph in a model that imports the default opset plus any `extraOpsets` (e.g. `ai.onnx.ml`). */
export function encodeModel(graph: InstanceType<typeof onnx.GraphProto>, producer = "verge", extraOpsets: Record<string, number> = {}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: producer,
    opsetImport: [
      onnx.OperatorSetIdProto.create({ domain: "", version: OPSET }),
      ...Object.entries(extraOpsets).map(([domain, version]) => onnx.OperatorSetIdProto.create({ domain, version })),
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export function node(opType: string, input: string[], output: string[]) {
  return onnx.NodeProto.create({ opType, input, output, name: output[0] });
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>) {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, floatData: Array.from(values) });
}

/** A float tensor value with a dynamic batch dimension: [N, width]. */
export function valueInfo(name: string, width: number) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: [onnx.TensorShapeProto.Dimension.create({ dimParam: "N" }), onnx.TensorShapeProto.Dimension.create({ dimValue: width })],
        }),
      }),
    }),
  });
}
