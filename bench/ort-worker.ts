// A benchmark-only worker: runs the gateway's onnxruntime-web path N times on the benchmark
// models. workerd's clocks do not advance during pure computation, so the caller times it.
import { createOrtSession, ort } from "../gateway/src/inference/ort-web.ts";
import { benchModels } from "./models.ts";

const models = benchModels();
const sessions = new Map<string, Promise<Awaited<ReturnType<typeof createOrtSession>>>>();

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get("model") as keyof typeof models;
    const iterations = Number(url.searchParams.get("iterations") ?? "1");
    const model = models[name];
    if (!model) return new Response("unknown model", { status: 404 });
    let session = sessions.get(name);
    if (!session) sessions.set(name, (session = createOrtSession(model.bytes)));
    const s = await session;
    const feeds = { input: new ort.Tensor("float32", model.input, [model.batch, model.width]) };
    let checksum = 0;
    for (let i = 0; i < iterations; i++) {
      const out = await s.run(feeds);
      checksum += (out[s.outputNames[0]!]!.data as Float32Array)[0]!;
    }
    return Response.json({ iterations, checksum });
  },
};
