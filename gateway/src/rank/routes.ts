// POST /v1/models/{model}/rank: the deployment's first two variants each rank the candidates;
// the response is their team-draft interleaving, each position labelled with the variant that
// placed it, so feedback on a position (request_id + position) credits that variant.
import { ApiError, bucketOf, nameSchema, ownValue, rankRequestSchema, teamDraftInterleave } from "@verge/shared";
import { z } from "zod";
import { gatewayApi } from "@verge/shared/api/gateway";
import { describe } from "@verge/shared/openapi";
import { requireClientKey } from "../auth/client-key.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { failedAttempt, failureClass, requestColo, sendLogs } from "../logging/log.ts";
import { infer, isInputError } from "../predict/serve.ts";

export const rankRoutes = newApp().post("/:model/rank", describe(gatewayApi.rank), validate("param", z.object({ model: nameSchema })), requireClientKey(), jsonBody(rankRequestSchema), async (c) => {
  const started = Date.now();
  const body = c.req.valid("json");
  const snapshot = c.get("snapshot");
  const model = ownValue(snapshot.models, c.req.valid("param").model);
  if (!model) throw new ApiError("not_found", `model "${c.req.valid("param").model}" does not exist`);
  const variants = model.deployment?.variants.slice(0, 2) ?? [];
  if (variants.length === 0) throw new ApiError("unavailable", `model "${model.name}" has no deployment`);
  const requestId = body.request_id ?? c.req.header("x-request-id")?.slice(0, 128) ?? crypto.randomUUID();
  const input = { kind: "rows" as const, rows: body.candidates, entities: body.entities };

  const keyId = c.get("key").id;
  const attempts = await Promise.allSettled(variants.map((v) => infer(c.env, model, v.version, input)));
  const failed = attempts.findIndex((a) => a.status === "rejected");
  if (failed >= 0) {
    // A ranking is one attempt per variant: each variant that failed is logged once, as an error.
    attempts.forEach((a, team) => {
      if (a.status === "fulfilled" || isInputError(a.reason)) return;
      const ms = Date.now() - started;
      const v = variants[team]!;
      c.executionCtx.waitUntil(sendLogs(c.env, snapshot, { requestId, model: model.name, variant: v.name, unit: body.unit ?? requestId, shadow: false, latency: { total: ms, features: 0, infer: ms }, status: "error", error: failureClass(a.reason), keyId, colo: requestColo(c.req.raw) }, failedAttempt(v.version, 1)));
    });
    throw (attempts[failed] as PromiseRejectedResult).reason;
  }
  const scored = attempts.map((a) => (a as PromiseFulfilledResult<Awaited<ReturnType<typeof infer>>>).value);
  const scores = scored.map((p) => p.outputs.map((o) => firstNumber(o)));
  const order = scores.map((s) => body.candidates.map((cand, i) => ({ id: cand.id, score: s[i]! })).sort((x, y) => y.score - x.score).map((x) => x.id));
  // The coin depends on the unit (or request), so a user sees a stable interleaving.
  const coinKey = body.unit ?? requestId;
  const picks = variants.length === 2 ? teamDraftInterleave(order[0]!, order[1]!, (round) => bucketOf(`${coinKey}:${round}`, "interleave") % 2 === 0) : order[0]!.map((id) => ({ id, team: "A" as const }));
  const index = new Map(body.candidates.map((cand, i) => [cand.id, i]));

  const ranking = picks.map((p, position) => {
    const team = p.team === "A" ? 0 : 1;
    const i = index.get(p.id)!;
    return { position, id: p.id, variant: variants[team]!.name, version: variants[team]!.version, score: scores[team]![i]! };
  });
  const total = Date.now() - started;
  // One record per position, as its team's prediction: feedback on `request_id#position` joins it.
  for (const [team, v] of variants.entries()) {
    const mine = ranking.filter((r) => r.variant === v.name);
    if (mine.length === 0) continue;
    const p = scored[team]!;
    c.executionCtx.waitUntil(
      sendLogs(c.env, snapshot, { requestId, model: model.name, variant: v.name, unit: body.unit ?? requestId, shadow: false, latency: { total, features: p.featureMs, infer: total - p.featureMs }, positions: mine.map((r) => r.position), keyId, colo: requestColo(c.req.raw) }, {
        version: v.version,
        features: mine.map((r) => p.features[index.get(r.id)!]!),
        degraded: mine.map((r) => p.degraded[index.get(r.id)!]!),
        outputs: mine.map((r) => ({ score: r.score })),
        featureMs: p.featureMs,
      }),
    );
  }
  return c.json({ request_id: requestId, model: model.name, variants: variants.map((v) => ({ name: v.name, version: v.version })), ranking }, 200, {
    "x-request-id": requestId,
    "server-timing": `total;dur=${total}`,
  });
});

function firstNumber(outputs: Record<string, number | number[]>): number {
  const v = Object.values(outputs)[0];
  return typeof v === "number" ? v : (v?.[v.length - 1] ?? 0);
}
