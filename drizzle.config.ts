// drizzle-kit writes SQL migrations for D1 into migrations/, where wrangler expects them.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./control-plane/src/db/schema.ts",
  out: "./migrations",
});
