// `npm run bench [suite…]`: runs the benchmark suites and writes their results to BENCHMARKS.md.
import { buildWorkers } from "../scripts/lib/build.ts";
import { benchBatching } from "./batching.ts";
import { benchEdge } from "./edge.ts";
import { benchGateway } from "./gateway.ts";
import { benchHttp } from "./http.ts";
import { benchMonitoring } from "./monitoring.ts";
import { benchOrt } from "./ort.ts";
import { benchRollback } from "./rollback.ts";
import { benchSnapshot } from "./snapshot.ts";
import { benchStack } from "./stack.ts";
import { benchTraining } from "./training.ts";

const suites: Record<string, () => Promise<void>> = { ort: benchOrt, http: benchHttp, edge: benchEdge, rollback: benchRollback, gateway: benchGateway, monitoring: benchMonitoring, training: benchTraining, batching: benchBatching, stack: benchStack, snapshot: benchSnapshot };
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(suites);
buildWorkers();
for (const name of chosen) {
  const suite = suites[name];
  if (!suite) throw new Error(`unknown suite "${name}"; known: ${Object.keys(suites).join(", ")}`);
  console.log(`— ${name}`);
  await suite();
}
