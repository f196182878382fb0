// Node cannot load workerd's built-in modules. Tests that only read the control plane's route
// table (openapi.test.ts) import its entry module, which also exports the rollup shard class; this
// stands in for `cloudflare:workers` there. Shards themselves only ever run in workerd.
export class DurableObject<Env = unknown> {
  constructor(
    protected readonly ctx: unknown,
    protected readonly env: Env,
  ) {}
}
