// Models, versions (push an ONNX file with its metadata, show lineage) and aliases with their history.
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { taskSchema, versionMetadataSchema } from "@verge/shared";
import { act } from "../action.ts";
import { int } from "../context.ts";
import { emit, fields, table } from "../output.ts";

export function registryCommands(program: Command): void {
  const models = program.command("models").description("models in the registry");
  models
    .command("list", { isDefault: true })
    .description("list models")
    .action(act(async (ctx) => {
      const { models: rows } = await ctx.cp.api.listModels();
      emit(ctx.json, rows, () => table(["name", "task", "created", "by", "description"], rows.map((m) => [m.name, m.task, m.created_at, m.created_by, m.description])));
    }));
  models
    .command("create <name>")
    .description("create a model")
    .requiredOption("--task <task>", `one of ${taskSchema.options.join(", ")}`)
    .option("--description <text>", "what it predicts")
    .action(act(async (ctx, name, o) => {
      const { task, description } = o as { task: string; description?: string };
      const parsedTask = taskSchema.safeParse(task);
      if (!parsedTask.success) throw new Error(`--task: "${task}" is not one of ${taskSchema.options.join(", ")}`);
      const m = await ctx.cp.api.createModel({ body: { name: String(name), task: parsedTask.data, ...(description ? { description } : {}) } });
      emit(ctx.json, m, () => `created model ${m.name} (${m.task})`);
    }));
  models
    .command("show <model>")
    .description("a model with its versions and aliases")
    .action(act(async (ctx, model) => {
      const params = { model: String(model) };
      const [m, v, a] = await Promise.all([ctx.cp.api.getModel({ params }), ctx.cp.api.listVersions({ params }), ctx.cp.api.listAliases({ params })]);
      emit(ctx.json, { ...m, versions: v.versions, aliases: a.aliases }, () =>
        [fields([["model", m.name], ["task", m.task], ["description", m.description], ["created", `${m.created_at} by ${m.created_by}`]]), "", table(["alias", "version", "updated"], a.aliases.map((x) => [x.alias, x.version, x.updated_at])), "", versionTable(v.versions)].join("\n"),
      );
    }));

  const versions = program.command("versions").description("model versions: immutable ONNX artifacts with metadata and lineage");
  versions
    .command("list <model>")
    .description("list a model's versions, newest first")
    .action(act(async (ctx, model) => {
      const { versions: rows } = await ctx.cp.api.listVersions({ params: { model: String(model) } });
      emit(ctx.json, rows, () => versionTable(rows));
    }));
  versions
    .command("show <model> <version>")
    .description("a version with its lineage, metrics and tensors")
    .action(act(async (ctx, model, version) => {
      const v = await ctx.cp.api.getVersion({ params: { model: String(model), version: int("version")(String(version)) } });
      emit(ctx.json, v, () =>
        [
          fields([
            ["version", v.version],
            ["runtime", v.runtime],
            ["sha256", v.sha256],
            ["size", `${v.size} bytes`],
            ["created", `${v.created_at} by ${v.created_by}`],
            ["description", v.description],
            ["inputs", v.inputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(", ")}]`).join("; ")],
            ["outputs", v.outputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(", ")}]`).join("; ")],
            ["features", v.feature_spec.features.map((f) => f.name).join(", ")],
            ["drift reference", v.reference ? `${Object.keys(v.reference.features).length} features${v.reference.prediction ? " + prediction" : ""}` : "none"],
          ]),
          "",
          "lineage",
          fields([
            ["  training data", v.lineage.training_data],
            ["  data sha256", v.lineage.training_data_sha256],
            ["  code version", v.lineage.code_version],
            ["  parent job", v.lineage.parent_job],
            ["  params", v.lineage.params],
          ]),
          "",
          "metrics",
          Object.keys(v.metrics).length ? fields(Object.entries(v.metrics).map(([k, x]) => [`  ${k}`, x])) : "  (none)",
        ].join("\n"),
      );
    }));
  versions
    .command("push <model> <artifact.onnx>")
    .description("register a version: the ONNX file and its metadata (runtime, inputs/outputs, feature spec, lineage)")
    .requiredOption("--metadata <file.json>", "the version's metadata as JSON")
    .action(act(async (ctx, model, file, o) => {
      const metaPath = (o as { metadata: string }).metadata;
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(metaPath, "utf8"));
      } catch (err) {
        throw new Error(`--metadata: cannot read ${metaPath} as JSON (${(err as Error).message})`);
      }
      const meta = versionMetadataSchema.safeParse(json);
      if (!meta.success) throw new Error(`--metadata: ${meta.error.issues[0]?.path.join(".")}: ${meta.error.issues[0]?.message}`);
      const artifact = new Uint8Array(readFileSync(String(file)));
      const v = await ctx.cp.uploadVersion(String(model), artifact, meta.data);
      emit(ctx.json, v, () => `registered ${model} version ${v.version} (sha256 ${v.sha256.slice(0, 12)}…, ${v.size} bytes)`);
    }));
  versions
    .command("download <model> <version> <file>")
    .description("download a version's ONNX artifact")
    .action(act(async (ctx, model, version, file) => {
      const bytes = await ctx.cp.api.getArtifact({ params: { model: String(model), version: int("version")(String(version)) } });
      writeFileSync(String(file), bytes);
      emit(ctx.json, { file, size: bytes.byteLength }, () => `wrote ${bytes.byteLength} bytes to ${file}`);
    }));

  const aliases = program.command("aliases").description("named pointers to versions (production, staging…) and their history");
  aliases
    .command("list <model>")
    .description("a model's aliases")
    .action(act(async (ctx, model) => {
      const { aliases: rows } = await ctx.cp.api.listAliases({ params: { model: String(model) } });
      emit(ctx.json, rows, () => table(["alias", "version", "updated"], rows.map((a) => [a.alias, a.version, a.updated_at])));
    }));
  aliases
    .command("set <model> <alias> <version>")
    .description("point an alias at a version")
    .option("--reason <text>", "why (kept in the history and the audit log)")
    .option("--if-at <version>", "only if the alias still points to this version")
    .action(act(async (ctx, model, alias, version, o) => {
      const { reason, ifAt } = o as { reason?: string; ifAt?: string };
      const r = await ctx.cp.api.setAlias({ params: { model: String(model), alias: String(alias) }, body: { version: int("version")(String(version)), ...(reason ? { reason } : {}) }, ...(ifAt ? { headers: { "if-match": `"${ifAt}"` } } : {}) });
      emit(ctx.json, r, () => `${model} ${r.alias} → version ${r.version}${r.previous === null ? "" : ` (was ${r.previous})`}`);
    }));
  aliases
    .command("history <model> <alias>")
    .description("every move of an alias: when, who, from, to, why")
    .action(act(async (ctx, model, alias) => {
      const h = await ctx.cp.api.aliasHistory({ params: { model: String(model), alias: String(alias) } });
      emit(ctx.json, h, () => table(["at", "kind", "from", "to", "actor", "reason"], h.history.map((e) => [e.at, e.kind, e.from, e.to, e.actor, e.reason])));
    }));
}

function versionTable(rows: { version: number; runtime: string; sha256: string; size: number; created_at: string; lineage: { code_version?: string | undefined; parent_job?: string | undefined }; description?: string | undefined }[]): string {
  return table(
    ["version", "runtime", "sha256", "size", "created", "code", "job", "description"],
    rows.map((v) => [v.version, v.runtime, v.sha256.slice(0, 12), v.size, v.created_at, v.lineage.code_version, v.lineage.parent_job, v.description]),
  );
}
