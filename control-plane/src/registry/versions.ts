// Model versions: upload (ONNX artifact + metadata), list, read. Versions are immutable.
import { and, desc, eq, sql } from "drizzle-orm";
import { bodyLimit } from "hono/body-limit";
import { ApiError, inputWidth, versionParamSchema, type VersionMetadata } from "@verge/shared";
import type { ModelIo } from "@verge/shared/onnx/reader";
import { receiveUpload } from "./upload.ts";
import { auditEntry, db, findModel } from "../db/client.ts";
import { versions } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneConfig } from "../config.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "./models.ts";

/** Largest upload accepted at all; `edge` versions have their own, smaller limit. */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

const versionParam = versionParamSchema;

export const versionRoutes = newApp()
  .post(
    "/:model/versions",
    guard(api.uploadVersion),
    validate("param", modelParam),
    bodyLimit({ maxSize: MAX_UPLOAD_BYTES, onError: () => { throw new ApiError("payload_too_large", `body: uploads are limited to ${MAX_UPLOAD_BYTES} bytes`); } }),
    async (c) => {
      const d = db(c.env);
      const model = await findModel(d, c.req.valid("param").model);
      // A fresh key per upload: the hash is only known once the bytes have gone by, and R2 cannot rename.
      const artifactKey = `artifacts/${model.name}/${crypto.randomUUID()}.onnx`;
      const defer = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
      const edgeMaxBytes = controlPlaneConfig(c.env).EDGE_ARTIFACT_MAX_BYTES;
      const { metadata, io, sha256, size } = await receiveUpload(c.env.ARTIFACTS, artifactKey, c.req.raw, { maxBytes: MAX_UPLOAD_BYTES, edgeMaxBytes }, defer);
      const actor = c.get("principal").actor;
      const nextVersion = sql<number>`(SELECT coalesce(max(${versions.version}), 0) + 1 FROM ${versions} WHERE ${versions.modelId} = ${model.id})`;
      let created: typeof versions.$inferSelect | undefined;
      try {
        checkArtifact(metadata, io, size, edgeMaxBytes);
        [[created]] = await d.batch([
          d.insert(versions).values({ modelId: model.id, version: nextVersion, runtime: metadata.runtime, sha256, size, artifactKey, metadata, createdBy: actor }).returning(),
          auditEntry(d, { actor, action: "version.create", target: `models/${model.name}/versions`, after: { sha256, size, runtime: metadata.runtime } }),
        ]);
      } catch (error) {
        // No row points at the object: it goes, so a rejected upload leaves nothing behind.
        const cleanup = c.env.ARTIFACTS.delete(artifactKey);
        defer(cleanup);
        await cleanup.catch(() => undefined);
        throw error;
      }
      return c.json({ version: created!.version, sha256, size }, 201);
    },
  )
  .get("/:model/versions", guard(api.listVersions), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const rows = await d.select().from(versions).where(eq(versions.modelId, model.id)).orderBy(desc(versions.version)).all();
    return c.json({ versions: rows.map(presentVersion) });
  })
  .get("/:model/versions/:version", guard(api.getVersion), validate("param", versionParam), async (c) => {
    const d = db(c.env);
    const { model: name, version } = c.req.valid("param");
    const model = await findModel(d, name);
    const row = await d.select().from(versions).where(and(eq(versions.modelId, model.id), eq(versions.version, version))).get();
    if (!row) throw new ApiError("not_found", `model "${name}" has no version ${version}`);
    return c.json(presentVersion(row));
  });

/** The artifact's bytes, for origin nodes that serve `origin` versions (they verify the sha256). */
versionRoutes.get("/:model/versions/:version/artifact", guard(api.getArtifact), validate("param", versionParam), async (c) => {
  const d = db(c.env);
  const { model: name, version } = c.req.valid("param");
  const model = await findModel(d, name);
  const row = await d.select().from(versions).where(and(eq(versions.modelId, model.id), eq(versions.version, version))).get();
  if (!row) throw new ApiError("not_found", `model "${name}" has no version ${version}`);
  const object = await c.env.ARTIFACTS.get(row.artifactKey);
  if (!object) throw new ApiError("not_found", `the artifact of version ${version} is missing from storage`);
  return c.body(object.body, 200, { "content-type": "application/octet-stream", "content-length": String(object.size), "x-verge-sha256": row.sha256 });
});

export function presentVersion(v: typeof versions.$inferSelect) {
  const metadata = v.metadata as VersionMetadata;
  return { ...metadata, version: v.version, sha256: v.sha256, size: v.size, created_at: v.createdAt, created_by: v.createdBy };
}

/** The declared spec must be the graph's, and the feature spec must fill the input tensor. */
function checkArtifact(meta: VersionMetadata, io: ModelIo, size: number, edgeMaxBytes: number): void {
  if (meta.runtime === "edge" && size > edgeMaxBytes) {
    throw new ApiError("payload_too_large", `artifact: ${size} bytes exceeds the ${edgeMaxBytes}-byte limit for edge versions (use runtime "origin")`);
  }
  const compare = (kind: "inputs" | "outputs") => {
    const declared = meta[kind].map((t) => t.name).sort();
    const actual = io[kind].map((t) => t.name).sort();
    if (declared.join("\0") !== actual.join("\0")) {
      throw new ApiError("bad_request", `metadata.${kind}: declared [${declared.join(", ")}] but the graph has [${actual.join(", ")}]`);
    }
  };
  compare("inputs");
  compare("outputs");
  const input = io.inputs.find((t) => t.name === meta.feature_spec.input);
  if (!input) throw new ApiError("bad_request", `metadata.feature_spec.input: the graph has no input "${meta.feature_spec.input}"`);
  const width = input.shape.at(-1);
  if (width !== undefined && width > 0 && width !== inputWidth(meta.feature_spec)) {
    throw new ApiError("bad_request", `metadata.feature_spec: encodes ${inputWidth(meta.feature_spec)} columns but input "${input.name}" takes ${width}`);
  }
}

