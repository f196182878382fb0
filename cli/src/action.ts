// Runs a command's action with its context; any failure becomes one line on stderr and exit 1.
import type { Command } from "commander";
import { contextOf, type Context } from "./context.ts";
import { explain } from "./output.ts";

type Args = unknown[];

/**
 * Wraps a command action: builds its context from the global options, runs it, and turns a
 * failure into one line that names the fix.
 *
 * @example
 * program.command("models").action(act(async (ctx) => { … }))
 */
export function act(fn: (ctx: Context, ...args: Args) => Promise<void>, target: "control-plane" | "trainer" = "control-plane") {
  return async (...args: Args) => {
    const cmd = args.at(-1) as Command;
    let ctx: Context | undefined;
    try {
      ctx = contextOf(cmd);
      await fn(ctx, ...args.slice(0, -1));
    } catch (err) {
      const where = ctx?.conn ?? { url: "(unset)", trainerUrl: "(unset)", sources: { token: "default", trainerToken: "default" } };
      const tokenSource = target === "trainer" ? where.sources.trainerToken : where.sources.token;
      process.stderr.write(`${explain(err, { url: where.url, trainerUrl: where.trainerUrl, trainer: target === "trainer", tokenSource })}\n`);
      process.exitCode = 1;
    }
  };
}
