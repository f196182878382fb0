// Who may do what: admin-API tokens and roles, client keys, the audit log.
import { z } from "zod";
import { nameSchema } from "../common.ts";

/** Roles in increasing power: each may do what the ones before it may. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const createTokenSchema = z.object({ name: z.string().min(1).max(128), role: roleSchema });
export type CreateToken = z.infer<typeof createTokenSchema>;
export const idParamSchema = z.object({ id: z.string().min(1).max(64) });

export const tokenSchema = z.object({ id: z.string(), name: z.string(), role: roleSchema, created_at: z.string(), created_by: z.string() });
export const createdTokenSchema = z.object({ id: z.string(), token: z.string(), name: z.string(), role: roleSchema });
export const tokenListSchema = z.object({ tokens: z.array(tokenSchema) });

/** The caller as the control plane sees it: enough for a dashboard or CLI to know what to offer. */
export const whoamiSchema = z.object({ actor: z.string(), role: roleSchema });
export type Whoami = z.infer<typeof whoamiSchema>;

/** Shortest client key accepted for import: generated keys carry 192 random bits. */
export const MIN_CLIENT_KEY_LENGTH = 32;
/** Fewest distinct characters in an imported key: rejects repeats such as "aaaa…" or "abab…". */
export const MIN_CLIENT_KEY_DISTINCT = 12;

/** An imported client key: long, printable, and not a short pattern repeated. */
export const clientKeySecretSchema = z
  .string()
  .min(MIN_CLIENT_KEY_LENGTH)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
  .refine((k) => new Set(k).size >= MIN_CLIENT_KEY_DISTINCT, `must use at least ${MIN_CLIENT_KEY_DISTINCT} distinct characters`);

export const createKeySchema = z.object({
  name: z.string().min(1).max(128),
  /** Models the key may call; `["*"]` for all. */
  models: z.array(z.union([nameSchema, z.literal("*")])).min(1).max(256),
  rate_limit: z.number().int().positive().optional(),
  /** Import an existing secret instead of generating one (bootstrap, migrations). */
  key: clientKeySecretSchema.optional(),
});
export type CreateKey = z.infer<typeof createKeySchema>;

export const keySchema = z.object({ id: z.string(), name: z.string(), models: z.array(z.string()), rate_limit: z.number().int().nullable(), created_at: z.string() });
export const createdKeySchema = z.object({ id: z.string(), key: z.string(), name: z.string(), models: z.array(z.string()), rate_limit: z.number().int().nullable() });
export const keyListSchema = z.object({ keys: z.array(keySchema) });

export const auditQuerySchema = z.object({
  /** A target prefix, e.g. `models/demo`. */
  target: z.string().max(256).optional(),
  actor: z.string().max(256).optional(),
  action: z.string().max(64).optional(),
  since: z.iso.datetime().optional(),
  /** Page backwards: entries with an id below this one. */
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const auditEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export const auditPageSchema = z.object({ entries: z.array(auditEntrySchema), next_before: z.number().int().nullable() });
