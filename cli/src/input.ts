// Request bodies from files: JSON read and checked against the contract before anything is sent,
// so a mistake is named by file and field.
import { readFileSync } from "node:fs";
import type { z } from "zod";

/** The file's JSON parsed with `schema`; a failure names the file and the first bad field. */
export function readJson<T extends z.ZodType>(file: string, schema: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: cannot read it as JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]?.path.join(".") || "(root)"}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
