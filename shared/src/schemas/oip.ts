// The Open Inference Protocol v2 (KServe v2 / Triton REST) bodies, for the gateway and the origin.
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { requestIdSchema } from "./predict.ts";

export const OIP_DATATYPES = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"] as const;

type Nested = number | boolean | string | Nested[];

/** A tensor has at most this many dimensions, so its data nests at most this deep. */
export const MAX_TENSOR_RANK = 8;
const MAX_TENSOR_VALUES = 1_000_000;

/**
 * Tensor data: scalars in arrays nested at most MAX_TENSOR_RANK deep, checked with an explicit
 * stack. A recursive schema overflowed the call stack on a body of `[[[[…]]]]` well inside the
 * size limit (a 500); this one walks any depth in constant stack and stops at the first fault.
 */
const tensorData = z.array(z.unknown()).superRefine((data, ctx) => {
  const stack: [unknown[], number][] = [[data, 1]];
  let values = 0;
  while (stack.length) {
    const [items, depth] = stack.pop()!;
    for (const v of items) {
      if (Array.isArray(v)) {
        if (depth >= MAX_TENSOR_RANK) return void ctx.addIssue({ code: "custom", message: `nested deeper than ${MAX_TENSOR_RANK} levels (a tensor's largest rank)` });
        stack.push([v, depth + 1]);
      } else if (typeof v === "number" || typeof v === "boolean" || (typeof v === "string" && v.length <= 65_536)) {
        if (++values > MAX_TENSOR_VALUES) return void ctx.addIssue({ code: "custom", message: `holds more than ${MAX_TENSOR_VALUES} values` });
      } else {
        return void ctx.addIssue({ code: "custom", message: "values must be numbers, booleans or strings (at most 65,536 characters)" });
      }
    }
  }
}) as unknown as z.ZodType<Nested[]>;

export const oipTensorSchema = z.object({
  name: z.string().min(1).max(128),
  shape: z.array(z.number().int().min(0)).max(8),
  datatype: z.enum(OIP_DATATYPES),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: tensorData,
});
export type OipTensor = z.infer<typeof oipTensorSchema>;

export const oipInferRequestSchema = z.object({
  /** Echoed as the x-request-id header, so it must be a valid header value (as the predict API's request_id). */
  id: requestIdSchema.optional(),
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
  data: tensorData,
});
export const oipInferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  outputs: z.array(oipResponseOutputSchema),
});

/**
 * An inference response as the gateway reads it from an origin node, any OIP v2 server included
 * (Triton, KServe): only the protocol's fields, and lenient where servers differ from the letter
 * of the spec (documented examples omit `model_name`; KServe's servers send `null` for absent
 * parameters). What Verge itself answers is `oipInferResponseSchema`.
 */
export const oipUpstreamInferResponseSchema = z.object({
  model_name: z.string().nullish(),
  model_version: z.string().nullish(),
  id: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  outputs: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number().int().min(0)),
        datatype: z.string(),
        parameters: z.record(z.string(), z.unknown()).nullish(),
        data: tensorData,
      }),
    )
    .min(1),
});
export type OipUpstreamInferResponse = z.infer<typeof oipUpstreamInferResponseSchema>;

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
