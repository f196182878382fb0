// The Open Inference Protocol v2 (KServe v2 / Triton REST) bodies, for the gateway and the origin.
import { z } from "zod";
import { ApiError } from "../errors.ts";

export const OIP_DATATYPES = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"] as const;

type Nested = number | boolean | string | Nested[];
const nested: z.ZodType<Nested> = z.lazy(() => z.union([z.number(), z.boolean(), z.string().max(65_536), z.array(nested)]));

export const oipTensorSchema = z.object({
  name: z.string().min(1).max(128),
  shape: z.array(z.number().int().min(0)).max(8),
  datatype: z.enum(OIP_DATATYPES),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: z.array(nested).max(1_000_000),
});
export type OipTensor = z.infer<typeof oipTensorSchema>;

export const oipInferRequestSchema = z.object({
  id: z.string().max(128).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(oipTensorSchema).min(1).max(16),
  outputs: z.array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() })).max(16).optional(),
});
export type OipInferRequest = z.infer<typeof oipInferRequestSchema>;

/** Response fields as the protocol's REST definition documents them (extra fields are allowed). */
export const oipTensorMetadataSchema = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) });
export const oipServerMetadataSchema = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
export const oipModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: z.array(oipTensorMetadataSchema).optional(),
  outputs: z.array(oipTensorMetadataSchema).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export const oipLiveSchema = z.object({ live: z.boolean() });
export const oipReadySchema = z.object({ ready: z.boolean() });
export const oipModelReadySchema = z.object({ name: z.string(), ready: z.boolean() });
export const oipResponseOutputSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: z.string(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: z.array(nested),
});
export const oipInferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  outputs: z.array(oipResponseOutputSchema),
});
export interface OipInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}
/** The protocol's error object is `{error: "<message>"}`; Verge's error code travels beside it. */
export const oipErrorSchema = z.object({ error: z.string(), code: z.string().optional() });
export type OipError = z.infer<typeof oipErrorSchema>;

/** The tensor's data flattened in row-major order, checked against its shape and datatype. */
export function flattenTensor(t: OipTensor, where = `inputs.${t.name}`): (number | boolean | string)[] {
  const flat = (t.data as Nested[]).flat(Infinity as 1) as (number | boolean | string)[];
  const expected = t.shape.reduce((a, b) => a * b, 1);
  if (flat.length !== expected) throw new ApiError("bad_request", `${where}: shape [${t.shape.join(", ")}] holds ${expected} values, data has ${flat.length}`);
  const kind = t.datatype === "BOOL" ? "boolean" : t.datatype === "BYTES" ? "string" : "number";
  const bad = flat.findIndex((v) => typeof v !== kind || (kind === "number" && !Number.isFinite(v)));
  if (bad >= 0) throw new ApiError("bad_request", `${where}.data[${bad}]: expected a ${kind} for datatype ${t.datatype}`);
  if (/INT/.test(t.datatype) && flat.some((v) => !Number.isInteger(v))) throw new ApiError("bad_request", `${where}: ${t.datatype} data must be integers`);
  return flat;
}
