// Aliases (production, staging, archived or any name) and the history of every move.
import { and, desc, eq, sql } from "drizzle-orm";
import { aliasParamSchema, ApiError, putAliasSchema } from "@verge/shared";
import { auditEntry, bumpSnapshot, db, findModel, precondition, type Db } from "../db/client.ts";
import { aliasEvents, aliases, rollouts, versions } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "./models.ts";

const aliasParam = aliasParamSchema;

export const aliasRoutes = newApp()
  .put("/:model/aliases/:alias", guard(api.setAlias), validate("param", aliasParam), jsonBody(putAliasSchema), async (c) => {
    const d = db(c.env);
    const { model: name, alias } = c.req.valid("param");
    const { version, reason } = c.req.valid("json");
    const model = await findModel(d, name);
    await requireVersion(d, model.id, name, version);
    const previous = await currentAlias(d, model.id, alias);
    checkIfMatch(c.req.header("if-match"), previous);
    await moveAlias(d, { modelId: model.id, modelName: name, alias, to: version, from: previous, kind: "set", actor: c.get("principal").actor, reason });
    return c.json({ alias, version, previous: previous ?? null }, 200, { etag: `"${version}"` });
  })
  .get("/:model/aliases", guard(api.listAliases), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const rows = await d.select().from(aliases).where(eq(aliases.modelId, model.id)).orderBy(aliases.alias).all();
    return c.json({ aliases: rows.map((a) => ({ alias: a.alias, version: a.version, updated_at: a.updatedAt })) });
  })
  .get("/:model/aliases/:alias/history", guard(api.aliasHistory), validate("param", aliasParam), async (c) => {
    const d = db(c.env);
    const { model: name, alias } = c.req.valid("param");
    const model = await findModel(d, name);
    const rows = await d
      .select()
      .from(aliasEvents)
      .where(and(eq(aliasEvents.modelId, model.id), eq(aliasEvents.alias, alias)))
      .orderBy(desc(aliasEvents.id))
      .all();
    return c.json({
      alias,
      history: rows.map((e) => ({ kind: e.kind, from: e.fromVersion, to: e.toVersion, actor: e.actor, reason: e.reason, at: e.at })),
    });
  });

export async function requireVersion(d: Db, modelId: number, name: string, version: number): Promise<void> {
  const row = await d.select({ v: versions.version }).from(versions).where(and(eq(versions.modelId, modelId), eq(versions.version, version))).get();
  if (!row) throw new ApiError("bad_request", `version: model "${name}" has no version ${version}`);
}

export async function currentAlias(d: Db, modelId: number, alias: string): Promise<number | undefined> {
  const row = await d.select({ version: aliases.version }).from(aliases).where(and(eq(aliases.modelId, modelId), eq(aliases.alias, alias))).get();
  return row?.version;
}

/** The alias's effective history: `set` pushes a version, `rollback` pops one. */
export async function aliasStack(d: Db, modelId: number, alias: string): Promise<number[]> {
  const events = await d
    .select({ kind: aliasEvents.kind, to: aliasEvents.toVersion })
    .from(aliasEvents)
    .where(and(eq(aliasEvents.modelId, modelId), eq(aliasEvents.alias, alias)))
    .orderBy(aliasEvents.id)
    .all();
  const stack: number[] = [];
  for (const e of events) {
    if (e.kind === "set") stack.push(e.to);
    else stack.pop();
  }
  return stack;
}

export function checkIfMatch(header: string | undefined, current: number | undefined): void {
  if (header === undefined) return;
  if (current === undefined || header.replace(/^W\//, "").replaceAll('"', "") !== String(current)) {
    throw new ApiError("conflict", `if-match: the resource is at ${current ?? "nothing"}, not ${header}`);
  }
}

export interface AliasMove {
  modelId: number;
  modelName: string;
  alias: string;
  to: number;
  /** The version the caller saw; the move commits only if the alias still points there. */
  from: number | undefined;
  kind: "set" | "rollback";
  actor: string;
  reason?: string | undefined;
}

/**
 * Moves an alias by hand in one atomic batch: preconditions, history event, the alias row, a new
 * snapshot version, the audit entry. A concurrent move makes it a 409, never a lost update.
 * A staged rollout running against the alias makes it a 409 naming the rollout: the rollout's
 * baseline follows the alias, so moving it underneath would leave the rollout comparing the
 * candidate with itself (or with a version nobody chose). Cancel the rollout first.
 */
export async function moveAlias(d: Db, m: AliasMove): Promise<void> {
  const running = await d
    .select({ id: rollouts.id, candidate: rollouts.candidate })
    .from(rollouts)
    .where(and(eq(rollouts.modelId, m.modelId), eq(rollouts.alias, m.alias), eq(rollouts.status, "running")))
    .get();
  if (running) {
    throw new ApiError(
      "conflict",
      `alias: rollout ${running.id} of version ${running.candidate} is running against "${m.alias}"; cancel it (POST /v1/models/${m.modelName}/rollouts/cancel) before moving the alias by hand`,
    );
  }
  // The same check inside the batch: a rollout started between the read above and this write still refuses the move.
  const noRollout = precondition(d, sql`NOT EXISTS (SELECT 1 FROM ${rollouts} WHERE ${rollouts.modelId} = ${m.modelId} AND ${rollouts.alias} = ${m.alias} AND ${rollouts.status} = 'running')`);
  await d.batch([noRollout, ...aliasMoveStatements(d, m)] as unknown as Parameters<Db["batch"]>[0]);
}

export function aliasMoveStatements(d: Db, m: AliasMove) {
  const current = sql`(SELECT ${aliases.version} FROM ${aliases} WHERE ${aliases.modelId} = ${m.modelId} AND ${aliases.alias} = ${m.alias})`;
  return [
    precondition(d, m.from === undefined ? sql`${current} IS NULL` : sql`${current} = ${m.from}`),
    d.insert(aliasEvents).values({ modelId: m.modelId, alias: m.alias, fromVersion: m.from ?? null, toVersion: m.to, kind: m.kind, actor: m.actor, reason: m.reason ?? null }),
    d
      .insert(aliases)
      .values({ modelId: m.modelId, alias: m.alias, version: m.to })
      .onConflictDoUpdate({ target: [aliases.modelId, aliases.alias], set: { version: m.to, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` } }),
    bumpSnapshot(d),
    auditEntry(d, {
      actor: m.actor,
      action: `alias.${m.kind}`,
      target: `models/${m.modelName}/aliases/${m.alias}`,
      before: m.from === undefined ? null : { version: m.from },
      after: { version: m.to, reason: m.reason ?? null },
    }),
  ] as const;
}
