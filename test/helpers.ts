// Test helpers: a fresh stack per test file, with tokens and an admin client.
import { controlPlaneClient, type ControlPlaneClient } from "@verge/client";
import { startStack, type Stack, type StackOptions } from "../scripts/lib/stack.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const GATEWAY_TOKEN = "test-gateway-token-0123456789abcdef";
export const CLIENT_KEY = "vk_test_client_key_0123456789abcdef";

export interface TestStack extends Stack {
  admin: ControlPlaneClient;
  predict: (model: string, body: unknown, headers?: Record<string, string>) => Promise<Response>;
}

export async function testStack(options: Partial<StackOptions> = {}): Promise<TestStack> {
  const stack = await startStack({ adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, snapshotTtlMs: 0, ...options });
  const admin = controlPlaneClient({ fetch: stack.controlPlane, token: ADMIN_TOKEN });
  return {
    ...stack,
    admin,
    predict: (model, body, headers = {}) =>
      stack.gateway(`/v1/models/${model}/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Row counts of every registry table: "nothing stored" means these do not change. */
export async function tableCounts(stack: Stack): Promise<Record<string, number>> {
  const db = await stack.mf.getD1Database("DB", "verge-control-plane");
  const tables = ["models", "versions", "aliases", "alias_events", "deployments", "api_keys", "audit", "counters", "ingested", "rollups"];
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = (await db.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>())!.n;
  const snapshot = await db.prepare("SELECT value FROM counters WHERE name = 'snapshot'").first<{ value: number }>();
  out.snapshot_version = snapshot?.value ?? 0;
  return out;
}

/** Asserts the shared error shape and returns it. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const text = await res.text();
  let body: { error?: { code: string; message: string } };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  if (!body.error || typeof body.error.code !== "string" || typeof body.error.message !== "string") {
    throw new Error(`not the shared error shape (${res.status}): ${text.slice(0, 200)}`);
  }
  return body.error;
}

/** The number of ingested log records once the queue has gone quiet (two equal reads in a row). */
export async function settledIngested(stack: Stack, quietMs = 3000): Promise<number> {
  let last = -1;
  for (;;) {
    const now = (await tableCounts(stack)).ingested!;
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}
