// Model runtimes behind one interface: edge (onnxruntime-web in the worker) now, origin later.
import type { SnapshotVersion } from "@verge/shared";

export interface Outputs {
  /** Per output: row-major values and the width of one row. */
  [name: string]: { data: Float32Array; width: number };
}

export interface ModelRuntime {
  run(version: SnapshotVersion, input: Float32Array, rows: number): Promise<Outputs>;
}

/** Splits batched outputs into one `{name: number | number[]}` per row. */
export function outputsPerRow(outputs: Outputs, rows: number): Record<string, number | number[]>[] {
  const perRow: Record<string, number | number[]>[] = Array.from({ length: rows }, () => ({}));
  for (const [name, { data, width }] of Object.entries(outputs)) {
    for (let r = 0; r < rows; r++) {
      const row = perRow[r]!;
      row[name] = width === 1 ? (data[r] as number) : Array.from(data.subarray(r * width, (r + 1) * width));
    }
  }
  return perRow;
}
