// Chooses the variant (sticky by unit) and the shadows for one request.
import { bucketOf, inShadowSample, variantForBucket, type Allocation, type SnapshotDeployment } from "@verge/shared";

export interface Route {
  variant: string;
  version: number;
  bucket: number;
  /** Versions to run off the response path. */
  shadows: number[];
}

export function routeRequest(deployment: SnapshotDeployment, routingKey: string): Route {
  const bucket = bucketOf(deployment.salt, routingKey);
  const variant = variantForBucket(deployment.allocation as Allocation, bucket);
  const version = deployment.variants.find((v) => v.name === variant)!.version;
  return { variant, version, bucket, shadows: shadowsFor(deployment, routingKey, version) };
}

/** The shadows sampled for this routing key, except the version that serves the response. */
export function shadowsFor(deployment: SnapshotDeployment, routingKey: string, served: number): number[] {
  const out: number[] = [];
  for (const s of deployment.shadows) if (s.version !== served && inShadowSample(s.salt, routingKey, s.rate_bp)) out.push(s.version);
  return out;
}
