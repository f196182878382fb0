import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { createOrtSession, ort } from "./inference/ort-web.ts";
export default {
  async fetch(): Promise<Response> {
    const t0 = Date.now();
    const s = await createOrtSession(logisticRegressionModel([0.5, -1, 2], 0.1));
    const t1 = Date.now();
    const out = await s.run({ input: new ort.Tensor("float32", Float32Array.from([1, 2, 3]), [1, 3]) });
    return Response.json({ p: Array.from(out.probability!.data as Float32Array), ms: t1 - t0 });
  },
};
