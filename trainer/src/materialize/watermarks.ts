// Materialization watermarks: per feature view, the latest snapshot time already pushed to the
// online store, the table's files seen and the features pushed, kept as one small JSON file under the trainer's state folder. Writes go to a
// temporary file renamed over the old one, so a crash never leaves half a file behind.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const watermarksSchema = z.object({
  views: z
    .record(
      z.string(),
      z.object({
        watermark: z.number(),
        path: z.string(),
        /** The table's files as of the last run: rows in any other file arrived since, whatever their event time. */
        files: z.array(z.string()).optional(),
        /** The feature columns last pushed: a different set re-pushes the whole view. */
        features: z.array(z.string()).optional(),
      }),
    )
    .default({}),
});
export type Watermarks = z.infer<typeof watermarksSchema>;
export type ViewWatermark = Watermarks["views"][string];

export const WATERMARKS_FILE = "materialize-watermarks.json";

export async function readWatermarks(stateDir: string): Promise<Watermarks> {
  const file = join(stateDir, WATERMARKS_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { views: {} };
    throw err;
  }
  const parsed = watermarksSchema.safeParse(safeJson(text));
  // A damaged file only costs a full push, which is always correct; refusing to run would not be.
  return parsed.success ? parsed.data : { views: {} };
}

/**
 * Records one view's watermark. The file is read again just before the write so that views
 * materialized by another request in the meantime keep theirs.
 */
export async function saveWatermark(stateDir: string, view: string, mark: ViewWatermark): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const current = await readWatermarks(stateDir);
  current.views[view] = mark;
  const file = join(stateDir, WATERMARKS_FILE);
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(current, null, 2)}\n`);
  await rename(tmp, file);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
