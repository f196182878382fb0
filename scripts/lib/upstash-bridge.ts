// An Upstash-REST-compatible bridge to a real redis-server, for development and tests.
// Speaks what @upstash/redis sends: POST / (one command), /pipeline and /multi-exec (arrays of
// commands, one {result} or {error} each), Bearer auth, and `Upstash-Encoding: base64`.
// Bulk strings come back from Redis as bytes (RESP2) and are encoded here, so values stay exact;
// a transaction's MULTI…EXEC goes out in one write, so other clients cannot interleave.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Reply = Buffer | string | number | null | Reply[] | { [field: string]: Reply };

export interface BridgeOptions {
  redisUrl: string;
  token: string;
  port?: number;
  host?: string;
}

export async function startUpstashBridge(o: BridgeOptions) {
  const redis = new Redis(o.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await redis.connect();
  const server = createServer((req, res) => {
    handle(redis, o.token, req, res).catch((err: Error) => send(res, 500, { error: `ERR bridge: ${err.message}` }));
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

async function handle(redis: Redis, token: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: "Unauthorized" });
  if (req.method !== "POST") return send(res, 405, { error: "ERR only POST is supported" });
  const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return send(res, 400, { error: "ERR malformed JSON body" });
  }
  const path = (req.url ?? "/").split("?")[0];
  const encode = (r: Reply): Json => encodeReply(r, base64);
  if (path === "/pipeline" || path === "/multi-exec") {
    if (!Array.isArray(body) || !body.every(isCommand)) return send(res, 400, { error: "ERR expected an array of commands" });
    const batch = path === "/multi-exec" ? redis.multi() : redis.pipeline();
    for (const [name, ...args] of body) batch.callBuffer(String(name), ...args.map(String));
    const results = (await batch.exec()) ?? [];
    return send(res, 200, results.map(([err, value]) => (err ? { error: err.message } : { result: encode(value as Reply) })));
  }
  if (path === "/" || path === "") {
    if (!isCommand(body)) return send(res, 400, { error: "ERR expected a command array" });
    const [name, ...args] = body;
    try {
      const value = (await redis.callBuffer(String(name), ...args.map(String))) as Reply;
      return send(res, 200, { result: encode(value) });
    } catch (err) {
      return send(res, 400, { error: (err as Error).message });
    }
  }
  return send(res, 404, { error: `ERR unknown path ${path}` });
}

function isCommand(x: unknown): x is (string | number)[] {
  return Array.isArray(x) && x.length > 0 && x.every((a) => typeof a === "string" || typeof a === "number" || typeof a === "boolean");
}

function encodeReply(r: Reply, base64: boolean): Json {
  if (r === null || typeof r === "number") return r;
  if (Array.isArray(r)) return r.map((x) => encodeReply(x, base64));
  // ioredis turns some array replies (HGETALL) into objects; Redis sent a flat array.
  if (typeof r === "object" && !Buffer.isBuffer(r)) return Object.entries(r).flatMap(([k, v]) => [encodeReply(k, base64), encodeReply(v, base64)]);
  const bytes = typeof r === "string" ? Buffer.from(r) : r;
  return base64 ? bytes.toString("base64") : bytes.toString("utf8");
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
