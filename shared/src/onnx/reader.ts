// Reads an ONNX file's graph inputs and outputs, to check an upload against its declared spec.
import { ApiError } from "../errors.ts";
import type { TensorSpec } from "../schemas/registry.ts";
import { onnx, type OnnxTypes } from "./proto.ts";

const DATATYPES: Record<number, TensorSpec["datatype"]> = {
  [onnx.TensorProto.DataType.FLOAT]: "FP32",
  [onnx.TensorProto.DataType.DOUBLE]: "FP64",
  [onnx.TensorProto.DataType.INT32]: "INT32",
  [onnx.TensorProto.DataType.INT64]: "INT64",
  [onnx.TensorProto.DataType.BOOL]: "BOOL",
};

export interface ModelIo {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  opsets: Record<string, number>;
}

/** Parses the model; anything that is not a readable ONNX graph is a 400. */
export function readModelIo(bytes: Uint8Array): ModelIo {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new ApiError("bad_request", `artifact: not an ONNX model (${(cause as Error).message})`);
  }
  const graph = model.graph;
  if (!graph?.node?.length || !graph.output?.length) {
    throw new ApiError("bad_request", "artifact: not an ONNX model (no graph, nodes or outputs)");
  }
  return modelIo({ inputs: graph.input ?? [], outputs: graph.output, initializers: (graph.initializer ?? []).map((t) => t.name ?? ""), opsets: model.opsetImport });
}

/** The parts of a graph that its I/O spec is made from (also gathered by a streaming walk). */
export interface GraphIoParts {
  inputs: OnnxTypes.IValueInfoProto[];
  outputs: OnnxTypes.IValueInfoProto[];
  initializers: string[];
  opsets: OnnxTypes.IOperatorSetIdProto[];
}

export function modelIo(parts: GraphIoParts): ModelIo {
  const initializers = new Set(parts.initializers);
  const tensor = (v: OnnxTypes.IValueInfoProto): TensorSpec => {
    const t = v.type?.tensorType;
    return {
      name: v.name ?? "",
      shape: (t?.shape?.dim ?? []).map((d) => (d.dimValue ? Number(d.dimValue) : -1)),
      datatype: DATATYPES[t?.elemType ?? 0] ?? "FP32",
    };
  };
  const opsets: Record<string, number> = {};
  for (const o of parts.opsets) opsets[o.domain || "ai.onnx"] = Number(o.version);
  return {
    // Older exporters list initializers among the inputs; they are not fed by callers.
    inputs: parts.inputs.filter((v) => !initializers.has(v.name ?? "")).map(tensor),
    outputs: parts.outputs.map(tensor),
    opsets,
  };
}
