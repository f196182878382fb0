// Builds the worker bundles once before any test file starts a stack.
import { buildWorkers } from "../scripts/lib/build.ts";

export default function setup(): void {
  buildWorkers();
}
