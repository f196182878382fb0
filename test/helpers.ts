// Test helpers: a fresh stack per test file, with tokens and an admin client.
import { AdminClient } from "../scripts/lib/admin.ts";
import { startStack, type Stack, type StackOptions } from "../scripts/lib/stack.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const GATEWAY_TOKEN = "test-gateway-token-0123456789abcdef";
export const CLIENT_KEY = "vk_test_client_key_0123456789abcdef";

export interface TestStack extends Stack {
  admin: AdminClient;
  predict: (model: string, body: unknown, headers?: Record<string, string>) => Promise<Response>;
}

export async function testStack(options: Partial<StackOptions> = {}): Promise<TestStack> {
  const stack = await startStack({ adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, snapshotTtlMs: 0, ...options });
  const admin = new AdminClient(stack.controlPlane, ADMIN_TOKEN);
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
