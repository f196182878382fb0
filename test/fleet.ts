// A simulated fleet of gateway isolates: several copies of the gateway's deploy bundle in one workerd
// (each worker its own isolate with its own module state, all sharing the Cache API as the isolates
// of one colo do), reaching the control plane through a worker that counts the calls.
import type { V4MiniflareOptions } from "miniflare";
import { controlPlaneClient } from "@verge/client";
import { miniflare } from "../scripts/lib/miniflare.ts";
import { applyMigrations, stackOptions } from "../scripts/lib/stack.ts";
import { WORKERS } from "../scripts/lib/build.ts";
import { ADMIN_TOKEN, CLIENT_KEY, GATEWAY_TOKEN } from "./helpers.ts";

type V4WorkerOptions = Extract<V4MiniflareOptions, { workers: unknown }>["workers"][number];

export const COUNTER = "snapshot-counter";

// Counts every call to the control plane's snapshot route and how many carried a whole snapshot (200).
const COUNTER_SCRIPT = `
let calls = 0, full = 0;
// Wall time, inside this isolate, of n sequential calls of one kind: a snapshot revalidation over
// the service binding (304 with the current ETag, or 200 without one), a read or a write of the
// colo's copy in the Cache API, or nothing (the baseline). Each is I/O, so workerd's clock advances.
async function probe(env, url, authorization) {
  const n = Number(url.searchParams.get("n") ?? "100");
  const what = url.searchParams.get("what");
  const target = "https://control-plane/v1/snapshot";
  const first = await env.CONTROL_PLANE.fetch(target, { headers: { authorization } });
  const etag = first.headers.get("etag");
  const body = await first.text();
  const key = "https://snapshot.verge.internal/v1/snapshot";
  const calls = {
    none: async () => {},
    revalidate304: async () => { const r = await env.CONTROL_PLANE.fetch(target, { headers: { authorization, "if-none-match": etag } }); await r.arrayBuffer(); if (r.status !== 304) throw new Error("expected 304, got " + r.status); },
    revalidate200: async () => { const r = await env.CONTROL_PLANE.fetch(target, { headers: { authorization } }); JSON.parse(await r.text()); },
    coloRead: async () => { const r = await caches.default.match(key); await r.text(); },
    coloWrite: () => caches.default.put(key, new Response(body, { headers: { "cache-control": "max-age=300", "x-verge-fetched-at": String(Date.now()), etag } })),
  };
  const call = calls[what];
  await calls.coloWrite();
  await call();
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await call();
  return { n, what, snapshotBytes: body.length, ms: (Date.now() - t0) / n };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.hostname === "counter") {
      if (url.pathname === "/reset") { calls = 0; full = 0; }
      if (url.pathname === "/probe") return Response.json(await probe(env, url, request.headers.get("authorization")));
      return Response.json({ calls, full });
    }
    calls++;
    const res = await env.CONTROL_PLANE.fetch(request);
    if (res.status === 200) full++;
    return res;
  },
};`;

export interface FleetOptions {
  isolates: number;
  ttlMs: number;
  coloCache: "on" | "off";
  persistTo?: string;
}

export const isolateName = (i: number) => `verge-gateway-${i}`;

export async function startFleet(o: FleetOptions) {
  const base = stackOptions({ adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, persistTo: o.persistTo, snapshotTtlMs: o.ttlMs });
  const [gateway, controlPlane] = base.workers as [V4WorkerOptions, V4WorkerOptions];
  const copies = Array.from({ length: o.isolates }, (_, i) => ({
    ...gateway,
    name: isolateName(i),
    bindings: { ...gateway.bindings, SNAPSHOT_COLO_CACHE: o.coloCache },
    serviceBindings: { ...gateway.serviceBindings, CONTROL_PLANE: COUNTER },
  }));
  const counter = { name: COUNTER, compatibilityDate: "2026-08-01", modules: true, script: COUNTER_SCRIPT, serviceBindings: { CONTROL_PLANE: controlPlane.name! } };
  // The control plane first: it is the entry worker, and the only one the copies' queues need.
  const mf = miniflare({ ...base, workers: [controlPlane, ...copies, counter] });
  await mf.ready;
  await applyMigrations(await mf.getD1Database("DB", WORKERS.controlPlane.name));
  const cp = await mf.getWorker(WORKERS.controlPlane.name);
  const admin = controlPlaneClient({ fetch: (path: string, init?: RequestInit) => cp.fetch(`http://control-plane${path}`, init as never) as unknown as Promise<Response>, token: ADMIN_TOKEN });
  const counterWorker = await mf.getWorker(COUNTER);
  const counts = async (path = "/") => (await (await counterWorker.fetch(`http://counter${path}`)).json()) as { calls: number; full: number };
  return {
    mf,
    admin,
    /** Control-plane snapshot calls since the last reset, and how many answered 200. */
    counts: () => counts(),
    reset: () => counts("/reset"),
    /** Per-call wall ms inside a worker for one kind of call (see `probe` in the counter's script). */
    probe: async (what: "none" | "revalidate304" | "revalidate200" | "coloRead" | "coloWrite", n: number) =>
      (await (await counterWorker.fetch(`http://counter/probe?what=${what}&n=${n}`, { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } })).json()) as { snapshotBytes: number; ms: number },
    /** The model version one isolate serves for a prediction. */
    async versionServed(isolate: number, unit = "u1"): Promise<number> {
      const worker = await mf.getWorker(isolateName(isolate));
      const res = (await worker.fetch("http://gateway/v1/models/demo/predict", {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ unit }),
      })) as unknown as Response;
      if (res.status !== 200) throw new Error(`isolate ${isolate} answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { version: number }).version;
    },
    dispose: () => mf.dispose(),
  };
}

export type Fleet = Awaited<ReturnType<typeof startFleet>>;

/** Predictions from isolates 0…k-1, each in its own sequential loop, until `ms` have passed. */
export async function drive(fleet: Fleet, k: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let served = 0;
  await Promise.all(
    Array.from({ length: k }, async (_, i) => {
      while (Date.now() < until) {
        await fleet.versionServed(i);
        served++;
      }
    }),
  );
  return served;
}
