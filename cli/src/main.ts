// `verge`: every task of the control-plane API, the trainer's jobs, and schedules, from a terminal.
// Tables for people, `--json` for scripts; connection from flags, environment or a profile.
import { Command } from "commander";
import { accessCommands } from "./commands/access.ts";
import { deployCommands } from "./commands/deploy.ts";
import { loggingCommands } from "./commands/logging.ts";
import { monitoringCommands } from "./commands/monitoring.ts";
import { registryCommands } from "./commands/registry.ts";
import { scheduleCommands } from "./commands/schedules.ts";
import { trainerCommands } from "./commands/trainer.ts";

const program = new Command("verge")
  .description("Verge from the terminal: models, deployments, promotion, monitoring, access, training, schedules.\nConnection: --url/--token, or VERGE_URL/VERGE_TOKEN, or a profile saved by `verge login` (VERGE_CONFIG, ~/.config/verge/config.json).")
  .option("--url <url>", "the control plane (default http://127.0.0.1:8788)")
  .option("--token <token>", "an admin-API token")
  .option("--trainer-url <url>", "the trainer (default http://127.0.0.1:8789)")
  .option("--trainer-token <token>", "the trainer's token")
  .option("--profile <name>", "a saved profile (default: default)")
  .option("--json", "print JSON, for scripts")
  .showHelpAfterError("(run with --help for usage)");
// Usage errors exit 2, failures of a command 1 (set by each action), success 0.
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});

registryCommands(program);
deployCommands(program);
monitoringCommands(program);
accessCommands(program);
trainerCommands(program);
scheduleCommands(program);
loggingCommands(program);

await program.parseAsync(process.argv);
