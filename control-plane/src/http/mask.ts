// What a viewer may not read: a command job's argv and environment can carry paths, hosts and
// credentials of the trainer's host. Viewers see which program runs, not how it is called.
import type { Principal } from "./auth.ts";

/** True for callers below the operator role, who see command jobs masked. */
export const seesMasked = (principal: Principal) => principal.kind === "token" && principal.role === "viewer";

/**
 * A copy of `value` with every command spec (`{ argv: [...] }` under a `command` key) reduced to its
 * program and a count of the arguments, and its environment values hidden. Other values are shared.
 */
export function maskCommands<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === "command" ? maskCommand(v) : walk(v);
  return out;
}

function maskCommand(command: unknown): unknown {
  if (command === null || typeof command !== "object" || !Array.isArray((command as { argv?: unknown }).argv)) return walk(command);
  const { argv, env, ...rest } = command as { argv: unknown[]; env?: Record<string, unknown> };
  const hidden = argv.length - 1;
  return {
    ...rest,
    argv: hidden > 0 ? [argv[0], `[${hidden} argument${hidden === 1 ? "" : "s"} hidden]`] : argv,
    ...(env ? { env: Object.fromEntries(Object.keys(env).map((k) => [k, "[hidden]"])) } : {}),
  };
}
