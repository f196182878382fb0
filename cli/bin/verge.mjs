#!/usr/bin/env node
// `npx verge …`: the CLI runs from its TypeScript sources (the workspace ships no build step).
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
