// The ONNX protobuf messages (static code from onnx-proto: no eval, so it also runs in workerd).
import onnxProto from "onnx-proto";

export const { onnx } = onnxProto;
export type ModelProto = InstanceType<typeof onnx.ModelProto>;
export type { onnx as OnnxTypes } from "onnx-proto";
