// Who may do what: sign in (a profile), client keys, admin-API tokens, and the audit log.
import type { Command } from "commander";
import { controlPlaneClient } from "@verge/client";
import { roleSchema } from "@verge/shared";
import { act } from "../action.ts";
import { configPath, saveProfile } from "../config.ts";
import { int } from "../context.ts";
import { emit, fields, table } from "../output.ts";

export function accessCommands(program: Command): void {
  program
    .command("login")
    .description("check a token against the control plane and save it (and the URLs) in a profile")
    .action(act(async (ctx) => {
      if (!ctx.conn.token) throw new Error("give the token to save with --token (or VERGE_TOKEN)");
      const me = await controlPlaneClient({ baseUrl: ctx.conn.url, token: ctx.conn.token }).api.whoami();
      saveProfile(ctx.conn.profile, { url: ctx.conn.url, token: ctx.conn.token, trainer_url: ctx.conn.trainerUrl, ...(ctx.conn.trainerToken ? { trainer_token: ctx.conn.trainerToken } : {}) });
      emit(ctx.json, { profile: ctx.conn.profile, ...me }, () => `signed in to ${ctx.conn.url} as ${me.actor} (${me.role}); saved as profile "${ctx.conn.profile}" in ${configPath()}`);
    }));
  program.command("whoami").description("the token's identity and role").action(act(async (ctx) => {
    const me = await ctx.cp.api.whoami();
    emit(ctx.json, me, () => `${me.actor} (${me.role}) at ${ctx.conn.url}`);
  }));
  program.command("config").description("where the connection comes from (flags, environment, profile)").action(act(async (ctx) => {
    const c = ctx.conn;
    const secret = (t: string | undefined) => (t ? `${t.slice(0, 6)}…` : "(none)");
    emit(ctx.json, { ...c, token: c.token ? "(set)" : null, trainerToken: c.trainerToken ? "(set)" : null, file: configPath() }, () =>
      fields([["profile", c.profile], ["config file", configPath()], ["control plane", `${c.url}  (${c.sources.url})`], ["token", `${secret(c.token)}  (${c.sources.token})`], ["trainer", `${c.trainerUrl}  (${c.sources.trainerUrl})`], ["trainer token", `${secret(c.trainerToken)}  (${c.sources.trainerToken})`]]),
    );
  }));

  const keys = program.command("keys").description("client keys for the gateway (shown once, stored hashed)");
  keys.command("list", { isDefault: true }).action(act(async (ctx) => {
    const { keys: rows } = await ctx.cp.api.listKeys();
    emit(ctx.json, rows, () => table(["id", "name", "models", "rate limit", "created"], rows.map((k) => [k.id, k.name, k.models.join(","), k.rate_limit, k.created_at])));
  }));
  keys
    .command("create <name>")
    .requiredOption("--models <names>", "comma-separated models the key may call, or *")
    .option("--rate-limit <per-minute>", "requests per minute")
    .action(act(async (ctx, name, o) => {
      const { models, rateLimit } = o as { models: string; rateLimit?: string };
      const k = await ctx.cp.api.createKey({ body: { name: String(name), models: models.split(",").map((m) => m.trim()), ...(rateLimit ? { rate_limit: int("--rate-limit")(rateLimit) } : {}) } });
      emit(ctx.json, k, () => `key ${k.id} for ${k.models.join(", ")}\n${k.key}\n(shown once: store it now)`);
    }));
  keys.command("revoke <id>").action(act(async (ctx, id) => {
    await ctx.cp.api.revokeKey({ params: { id: String(id) } });
    emit(ctx.json, { id, revoked: true }, () => `key ${id} revoked`);
  }));

  const tokens = program.command("tokens").description("admin-API tokens with roles: viewer < operator < admin");
  tokens.command("list", { isDefault: true }).action(act(async (ctx) => {
    const { tokens: rows } = await ctx.cp.api.listTokens();
    emit(ctx.json, rows, () => table(["id", "name", "role", "created", "by"], rows.map((t) => [t.id, t.name, t.role, t.created_at, t.created_by])));
  }));
  tokens
    .command("create <name>")
    .requiredOption("--role <role>", "viewer, operator or admin")
    .action(act(async (ctx, name, o) => {
      const role = roleSchema.safeParse((o as { role: string }).role);
      if (!role.success) throw new Error(`--role: "${(o as { role: string }).role}" is not one of viewer, operator, admin`);
      const t = await ctx.cp.api.createToken({ body: { name: String(name), role: role.data } });
      emit(ctx.json, t, () => `token ${t.id} (${t.role})\n${t.token}\n(shown once: store it now)`);
    }));
  tokens.command("revoke <id>").action(act(async (ctx, id) => {
    await ctx.cp.api.revokeToken({ params: { id: String(id) } });
    emit(ctx.json, { id, revoked: true }, () => `token ${id} revoked`);
  }));

  program
    .command("audit")
    .description("who did what, when, with the state before and after (newest first)")
    .option("--target <prefix>", "e.g. models/demo")
    .option("--actor <actor>")
    .option("--action <action>", "e.g. alias.rollback")
    .option("--limit <n>", "at most this many", "50")
    .action(act(async (ctx, o) => {
      const opts = o as { target?: string; actor?: string; action?: string; limit: string };
      const page = await ctx.cp.api.audit({ query: { ...(opts.target ? { target: opts.target } : {}), ...(opts.actor ? { actor: opts.actor } : {}), ...(opts.action ? { action: opts.action } : {}), limit: int("--limit")(opts.limit) } });
      emit(ctx.json, page, () => table(["id", "at", "actor", "action", "target", "after"], page.entries.map((e) => [e.id, e.at, e.actor, e.action, e.target, e.after])));
    }));
}
