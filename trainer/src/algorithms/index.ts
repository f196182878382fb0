// The built-in algorithms by name, and the parsing of a job's `params` for one of them.
import { validationError } from "@verge/shared";
import { gbdt } from "./gbdt.ts";
import { logreg } from "./logreg.ts";
import { mlp } from "./mlp.ts";
import type { Algorithm } from "./types.ts";

export type AlgorithmName = "logreg" | "mlp" | "gbdt";

export const algorithms: Record<AlgorithmName, Algorithm> = {
  logreg: logreg as Algorithm,
  mlp: mlp as Algorithm,
  gbdt: gbdt as Algorithm,
};

/**
 * Validates and defaults `params` for an algorithm; throws a 400 `ApiError` naming the field.
 *
 * @example
 * parseParams(algorithms.gbdt, { n_trees: 0 }); // throws "params.n_trees: Too small: …"
 */
export function parseParams<P>(algorithm: Algorithm<P>, params: unknown): P {
  const parsed = algorithm.params.safeParse(params);
  if (!parsed.success) throw validationError(parsed.error, "params");
  return parsed.data;
}

export { gbdt, logreg, mlp };
export type { Algorithm, TrainContext, TrainedModel, TrainingData, TrainTask } from "./types.ts";
