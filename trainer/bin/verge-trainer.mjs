#!/usr/bin/env node
// The trainer ships as TypeScript source: load it through tsx, then run its entry point.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
