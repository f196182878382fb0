// The Open Inference Protocol's REST responses, field by field as its REST definition
// (kserve/open-inference-protocol, specification/protocol/open_inference_rest.yaml) documents
// them: required fields required, types as given. Kept apart from Verge's own schemas, so a
// response is checked against the protocol, not against itself.
import { expect } from "vitest";
import { z } from "zod";

type Nested = number | string | boolean | Nested[];
const tensorData: z.ZodType<Nested[]> = z.array(z.lazy(() => z.union([z.number(), z.string(), z.boolean(), tensorData])));
const metadataTensor = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) });
const parameters = z.record(z.string(), z.unknown());

export const protocol = {
  serverMetadata: z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }),
  modelMetadata: z.object({ name: z.string(), versions: z.array(z.string()).optional(), platform: z.string(), inputs: z.array(metadataTensor).optional(), outputs: z.array(metadataTensor).optional() }),
  inferenceResponse: z.object({
    model_name: z.string(),
    model_version: z.string().optional(),
    id: z.string().optional(),
    parameters: parameters.optional(),
    outputs: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), datatype: z.string(), parameters: parameters.optional(), data: tensorData })),
  }),
  /** Every error object of the protocol (server, model metadata, inference) is `{error: string}`. */
  error: z.object({ error: z.string() }),
};

/** Asserts a response body has the protocol's documented fields; returns it parsed. */
export async function conforms<T extends z.ZodType>(res: Response, schema: T): Promise<z.output<T>> {
  const body: unknown = await res.json();
  const parsed = schema.safeParse(body);
  expect(parsed.success, `${JSON.stringify(body)} → ${parsed.success ? "" : JSON.stringify(parsed.error.issues)}`).toBe(true);
  return parsed.data as z.output<T>;
}

/** Asserts the protocol's error object, with Verge's code beside it; returns both. */
export async function oipErrorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = await conforms(res, protocol.error.extend({ code: z.string() }));
  return { code: body.code, message: body.error };
}
