// No training–serving skew: one raw row gives the identical tensor in the trainer and in the
// gateway (whose features may come partly from the online store).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeRows, onlineKey, resolveRow, type FeatureSpec, type OnlineStore } from "@verge/shared";
import { lookupFeatures } from "../../gateway/src/features/lookup.ts";
import { trainingMatrix } from "../src/dataset/rows.ts";

const spec: FeatureSpec = {
  input: "input",
  views: [{ name: "user", entity: "user_id", max_age_s: 3600 }],
  features: [
    { name: "age", type: "number", default: 30 },
    { name: "clicks", type: "number", default: 0, view: "user" },
    { name: "country", type: "categorical", vocabulary: ["ch", "de", "fr"], default: "ch", view: "user" },
    { name: "member", type: "boolean", default: false },
  ],
};

/** An in-memory store that answers like a real driver; the drivers themselves have their own suite. */
const memoryStore = (rows: Map<string, { ts: number; values: Record<string, number | string> }>): OnlineStore => ({
  name: "memory",
  getMany: async (keys) => keys.map((k) => rows.get(k)),
  putMany: async () => undefined,
});

describe("training and serving build the same tensor", () => {
  it("for any raw row, whichever side the online values come from", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ age: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }), member: fc.option(fc.boolean(), { nil: undefined }) }),
        fc.record({ clicks: fc.double({ min: 0, max: 1e4, noNaN: true }), country: fc.constantFrom("ch", "de", "fr", "it") }),
        async (requestPart, onlinePart) => {
          const raw = { ...requestPart, ...onlinePart };
          const training = trainingMatrix(spec, [raw]).x;
          const store = memoryStore(new Map([[onlineKey("user", "u1"), { ts: Date.now(), values: onlinePart }]]));
          const served = await lookupFeatures(store, spec, [{ features: requestPart, entities: { user_id: "u1" } }], undefined, 1000);
          const tensor = encodeRows(spec, [resolveRow(spec, served.raw[0]!, "features", served.reasons[0]).values]);
          expect(Array.from(tensor)).toEqual(Array.from(training));
        },
      ),
      { numRuns: 200 },
    );
  });
});
