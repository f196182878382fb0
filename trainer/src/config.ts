// The origin node's configuration, parsed once from the environment.
import { z } from "zod";

const configSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65_535).default(8789),
  HOST: z.string().default("127.0.0.1"),
  /** The control plane, for model metadata and artifacts. */
  VERGE_CONTROL_PLANE_URL: z.url().default("http://127.0.0.1:8788"),
  /** A viewer token for the control plane. */
  VERGE_CONTROL_PLANE_TOKEN: z.string().min(1),
  /** Shared with gateways: requests must be signed with it. */
  VERGE_ORIGIN_SECRET: z.string().min(16, "must be at least 16 characters"),
  /** `auto` uses CUDA when its libraries load, else CPU; `cpu` or `cuda` force one. */
  VERGE_EXECUTION_PROVIDER: z.enum(["auto", "cpu", "cuda"]).default("auto"),
});
export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
