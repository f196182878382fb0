// Miniflare 5 takes wrangler-shaped worker configs; the stack, tests and benchmarks describe
// workers in its v4 option shape (closer to what they set: modules, bindings, sockets), which
// miniflare's own adapter converts. One place, so a later move to the v5 shape is one edit.
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";

export function miniflare(options: V4MiniflareOptions): Miniflare {
  return new Miniflare(convertV4MiniflareOptions(options));
}

/** The same conversion, for `mf.setOptions` on a running instance. */
export const v5Options = convertV4MiniflareOptions;
