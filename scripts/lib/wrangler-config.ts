// The workers' wrangler configs, read once and described generically: what each binds (D1, R2,
// KV, queues and their dead letters, Durable Objects, services), its variables and required
// secrets. The local stack, the setup and deploy commands and the README's binding table all
// derive from this, so a binding added to a wrangler.toml reaches all of them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { z } from "zod";
import { ROOT, WORKERS, type WorkerKey } from "./build.ts";

const binding = z.string().min(1);
const section = {
  d1_databases: z.array(z.looseObject({ binding, database_name: z.string(), database_id: z.string().optional(), migrations_dir: z.string().optional() })).optional(),
  r2_buckets: z.array(z.looseObject({ binding, bucket_name: z.string() })).optional(),
  kv_namespaces: z.array(z.looseObject({ binding, id: z.string().optional() })).optional(),
  queues: z
    .looseObject({
      producers: z.array(z.looseObject({ binding, queue: z.string() })).optional(),
      consumers: z
        .array(
          z.looseObject({
            queue: z.string(),
            max_batch_size: z.number().optional(),
            max_batch_timeout: z.number().optional(),
            max_retries: z.number().optional(),
            dead_letter_queue: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  durable_objects: z.looseObject({ bindings: z.array(z.looseObject({ name: binding, class_name: z.string(), script_name: z.string().optional() })).optional() }).optional(),
  migrations: z.array(z.looseObject({ tag: z.string(), new_classes: z.array(z.string()).optional(), new_sqlite_classes: z.array(z.string()).optional() })).optional(),
  services: z.array(z.looseObject({ binding, service: z.string() })).optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  secrets: z.looseObject({ required: z.array(z.string()).optional() }).optional(),
  triggers: z.looseObject({ crons: z.array(z.string()).optional() }).optional(),
};
const workerConfigSchema = z.looseObject({
  name: z.string(),
  main: z.string(),
  compatibility_date: z.string(),
  compatibility_flags: z.array(z.string()).optional(),
  ...section,
  env: z.record(z.string(), z.looseObject({ name: z.string().optional(), ...section })).optional(),
});
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export function readWorkerConfig(file: string): WorkerConfig {
  const parsed = workerConfigSchema.safeParse(parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export function workerConfig(key: WorkerKey, root = ROOT): WorkerConfig {
  return readWorkerConfig(join(root, WORKERS[key].config));
}

/** Something a worker needs created in a Cloudflare account before it can be deployed. */
export type Resource =
  | { kind: "d1"; binding: string; name: string; id: string | undefined }
  | { kind: "r2"; binding: string; name: string }
  | { kind: "kv"; binding: string; id: string | undefined }
  | { kind: "queue"; name: string; role: "producer" | "consumer" | "dead_letter" };

export function resources(c: WorkerConfig): Resource[] {
  const out: Resource[] = [];
  for (const d of c.d1_databases ?? []) out.push({ kind: "d1", binding: d.binding, name: d.database_name, id: d.database_id });
  for (const r of c.r2_buckets ?? []) out.push({ kind: "r2", binding: r.binding, name: r.bucket_name });
  for (const k of c.kv_namespaces ?? []) out.push({ kind: "kv", binding: k.binding, id: k.id });
  for (const p of c.queues?.producers ?? []) out.push({ kind: "queue", name: p.queue, role: "producer" });
  for (const q of c.queues?.consumers ?? []) {
    out.push({ kind: "queue", name: q.queue, role: "consumer" });
    if (q.dead_letter_queue) out.push({ kind: "queue", name: q.dead_letter_queue, role: "dead_letter" });
  }
  return out;
}

/** Durable Object classes stored in SQLite (declared by a `new_sqlite_classes` migration). */
export function sqliteClasses(c: WorkerConfig): Set<string> {
  return new Set((c.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []));
}

/** Every name the worker sees in its `env`, by what it is. */
export function bindingNames(c: WorkerConfig): { bindings: string[]; vars: string[]; secrets: string[] } {
  return {
    bindings: [
      ...(c.d1_databases ?? []).map((d) => d.binding),
      ...(c.r2_buckets ?? []).map((r) => r.binding),
      ...(c.kv_namespaces ?? []).map((k) => k.binding),
      ...(c.queues?.producers ?? []).map((p) => p.binding),
      ...(c.durable_objects?.bindings ?? []).map((d) => d.name),
      ...(c.services ?? []).map((s) => s.binding),
    ],
    vars: Object.keys(c.vars ?? {}),
    secrets: c.secrets?.required ?? [],
  };
}

/** Plain-text values of `[vars]` (JSON values as their JSON text, as wrangler passes them). */
export function varsOf(c: WorkerConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(c.vars ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
