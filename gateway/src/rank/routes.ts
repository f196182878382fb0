// POST /v1/models/{model}/rank: the deployment's first two variants each rank the candidates;
// the response is their team-draft interleaving, each position labelled with the variant that
// placed it, so feedback on a position (request_id + position) credits that variant. Each team is
// served like any prediction (fallback, non-finite guard, shadows, standard log records).
import { ApiError, bucketOf, nameSchema, rankRequestSchema, teamDraftInterleave } from "@verge/shared";
import { z } from "zod";
import { gatewayApi } from "@verge/shared/api/gateway";
import { describe } from "@verge/shared/openapi";
import { requireClientKey } from "../auth/client-key.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { caller, serveContext } from "../http/serve-context.ts";
import { requestIdentity } from "../predict/identity.ts";
import { serve, type Served } from "../predict/serve.ts";

export const rankRoutes = newApp().post("/:model/rank", describe(gatewayApi.rank), validate("param", z.object({ model: nameSchema })), requireClientKey(), jsonBody(rankRequestSchema), async (c) => {
  const started = Date.now();
  const body = c.req.valid("json");
  const identity = requestIdentity(c.get("snapshot"), c.req.raw.headers, c.req.valid("param").model, { requestId: { value: body.request_id, field: "body.request_id" }, unit: { value: body.unit, field: "body.unit" } });
  const { model, requestId } = identity;
  const variants = model.deployment?.variants.slice(0, 2) ?? [];
  if (variants.length === 0) throw new ApiError("unavailable", `model "${model.name}" has no deployment`);
  const input = { kind: "rows" as const, rows: body.candidates, entities: body.entities };

  const ctx = serveContext(c);
  const who = caller(c);
  // Shadows run once per ranking, with the first team; each team's failed attempts are logged by serve.
  const attempts = await Promise.allSettled(variants.map((v, team) => serve(ctx, { identity, input, ...who, target: { variant: v.name }, shadows: team === 0, deferLog: true, started })));
  const failed = attempts.find((a) => a.status === "rejected");
  if (failed) throw failed.reason;
  const served = attempts.map((a) => (a as PromiseFulfilledResult<Served>).value);
  const scores = served.map((s) => s.prediction.outputs.map((o) => firstNumber(o)));
  const order = scores.map((s) => body.candidates.map((cand, i) => ({ id: cand.id, score: s[i]! })).sort((x, y) => y.score - x.score).map((x) => x.id));
  // The coin depends on the unit (or request), so a user sees a stable interleaving.
  const coinKey = body.unit ?? requestId;
  const picks = served.length === 2 ? teamDraftInterleave(order[0]!, order[1]!, (round) => bucketOf(`${coinKey}:${round}`, "interleave") % 2 === 0) : order[0]!.map((id) => ({ id, team: "A" as const }));
  const index = new Map(body.candidates.map((cand, i) => [cand.id, i]));

  const ranking = picks.map((p, position) => {
    const team = p.team === "A" ? 0 : 1;
    const row = index.get(p.id)!;
    return { position, id: p.id, team, row, variant: served[team]!.variant, version: served[team]!.version, score: scores[team]![row]! };
  });
  // Each row's position, for shadow records: a label on a position joins every version's score of that candidate.
  const positionOfRow: number[] = [];
  for (const r of ranking) positionOfRow[r.row] = r.position;
  // One record per position, as its team's prediction: feedback on `request_id#position` joins it.
  served.forEach((s, team) => {
    const mine = ranking.filter((r) => r.team === team);
    s.finish({ rows: mine.map((r) => r.row), positions: mine.map((r) => r.position) }, positionOfRow);
  });
  const total = Date.now() - started;
  return c.json(
    {
      request_id: requestId,
      model: model.name,
      variants: served.map((s) => ({ name: s.variant, version: s.version, ...(s.fallback ? { fallback: s.fallback } : {}) })),
      ranking: ranking.map(({ position, id, variant, version, score }) => ({ position, id, variant, version, score })),
    },
    200,
    { "x-request-id": requestId, "server-timing": `total;dur=${total}` },
  );
});

function firstNumber(outputs: Record<string, number | number[]>): number {
  const v = Object.values(outputs)[0];
  return typeof v === "number" ? v : (v?.[v.length - 1] ?? 0);
}
