// One typed client for every Verge API, built on the endpoint contracts in @verge/shared:
// the trainer's registry calls, the CLI, the dashboard and the tests all go through it.
import { controlPlaneApi, gatewayApi, trainerApi, type Endpoint } from "@verge/shared/api/index";
import { HttpClient, type ClientOptions, type InputOf, type OutputOf } from "./http.ts";

export { HttpClient, VergeError, queryString, uploadForm, type ClientOptions, type Fetcher, type InputOf, type OutputOf, type RawResponse } from "./http.ts";
export { followJob } from "./events.ts";

/** One method per endpoint of a catalog, named after it: `client.api.listModels()`. */
export type Bound<C extends Record<string, Endpoint>> = {
  [K in keyof C]: (...args: {} extends InputOf<C[K]> ? [InputOf<C[K]>?] : [InputOf<C[K]>]) => Promise<OutputOf<C[K]>>;
};

function bind<C extends Record<string, Endpoint>>(client: HttpClient<C>): Bound<C> {
  const bound: Record<string, (input?: unknown) => Promise<unknown>> = {};
  for (const [name, e] of Object.entries(client.catalog)) bound[name] = (input?: unknown) => client.call(e as C[keyof C], input as never);
  return bound as Bound<C>;
}

export class ApiClient<C extends Record<string, Endpoint>> extends HttpClient<C> {
  /** Every endpoint as a typed method. */
  readonly api: Bound<C>;
  constructor(catalog: C, options: ClientOptions = {}) {
    super(catalog, options);
    this.api = bind<C>(this);
  }
}

/** The control plane's client, with the one call that takes a file. */
export class ControlPlaneClient extends ApiClient<typeof controlPlaneApi> {
  /** Registers a version: the ONNX bytes and their metadata in one atomic upload. */
  uploadVersion(model: string, artifact: Uint8Array, metadata: InputOf<typeof controlPlaneApi.uploadVersion>["body"]["metadata"]) {
    return this.api.uploadVersion({ params: { model }, body: { artifact, metadata } });
  }
}
export type TrainerClient = ApiClient<typeof trainerApi>;
export type GatewayClient = ApiClient<typeof gatewayApi>;

/** The control plane's admin API (registry, deployments, monitoring, access). */
export const controlPlaneClient = (options: ClientOptions = {}): ControlPlaneClient => new ControlPlaneClient(controlPlaneApi, options);
/** The trainer's API (jobs, materialization, batch predictions, playbooks) and the origin's OIP routes. */
export const trainerClient = (options: ClientOptions = {}): TrainerClient => new ApiClient(trainerApi, options);
/** The gateway: predictions, ranking, feedback, Open Inference Protocol (token = a client key). */
export const gatewayClient = (options: ClientOptions = {}): GatewayClient => new ApiClient(gatewayApi, options);
