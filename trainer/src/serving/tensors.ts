// Open Inference Protocol tensors to onnxruntime tensors and back, for the datatypes the origin serves.
import * as ort from "onnxruntime-node";
import { ApiError, flattenTensor, type OipInferResponse, type OipTensor } from "@verge/shared";

const TYPED: Partial<Record<OipTensor["datatype"], (v: (number | boolean | string)[]) => ort.Tensor["data"]>> = {
  FP32: (v) => Float32Array.from(v as number[]),
  FP64: (v) => Float64Array.from(v as number[]),
  INT32: (v) => Int32Array.from(v as number[]),
  INT64: (v) => BigInt64Array.from((v as number[]).map(BigInt)),
  BOOL: (v) => Uint8Array.from(v as boolean[], (b) => (b ? 1 : 0)),
};
const ORT_TYPE = { FP32: "float32", FP64: "float64", INT32: "int32", INT64: "int64", BOOL: "bool" } as const;
const DATATYPE: Record<string, string> = Object.fromEntries(Object.entries(ORT_TYPE).map(([oip, t]) => [t, oip]));

/** The OIP datatype name of an onnxruntime element type (`float32` → `FP32`). */
export const oipDatatype = (type: string): string => DATATYPE[type] ?? type.toUpperCase();

export function toOrtTensor(t: OipTensor): ort.Tensor {
  const convert = TYPED[t.datatype];
  if (!convert) throw new ApiError("bad_request", `inputs.${t.name}.datatype: ${t.datatype} is not supported by this origin`);
  return new ort.Tensor(ORT_TYPE[t.datatype as keyof typeof ORT_TYPE], convert(flattenTensor(t)) as Float32Array, t.shape);
}

export function toOipOutput(name: string, t: ort.Tensor): OipInferResponse["outputs"][number] {
  return { name, shape: [...t.dims], datatype: oipDatatype(t.type), data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}
