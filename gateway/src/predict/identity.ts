// Who a prediction is for and what it calls, the same way on every API (predict, rank, OIP): the
// request id, the unit that routing sticks to, and the model looked up in the snapshot.
import { ApiError, requestIdSchema, unitSchema, type Snapshot, type SnapshotModel } from "@verge/shared";

export interface RequestIdentity {
  requestId: string;
  /** The unit routing sticks to; absent, the request id routes. */
  unit: string | undefined;
  model: SnapshotModel;
}

/** Where the body carries the request id and unit, and under which field names errors name them. */
export interface IdentityFields {
  requestId?: { value: unknown; field: string } | undefined;
  unit?: { value: unknown; field: string } | undefined;
}

/**
 * The request's identity. A request id or unit from the body wins over its header; either one,
 * when given, must be valid: a bad one is refused with 400 naming where it came from, never
 * truncated or replaced, since the client joins feedback by the id it sent.
 */
export function requestIdentity(snapshot: Snapshot, headers: Headers, modelName: string, fields: IdentityFields = {}): RequestIdentity {
  const model = findModel(snapshot, modelName);
  const requestId = pick(fields.requestId, headers, "x-request-id", requestIdSchema) ?? crypto.randomUUID();
  const unit = pick(fields.unit, headers, "x-verge-unit", unitSchema);
  return { requestId, unit, model };
}

function pick(fromBody: IdentityFields["requestId"], headers: Headers, header: string, schema: typeof requestIdSchema | typeof unitSchema): string | undefined {
  const [value, field] = fromBody?.value !== undefined ? [fromBody.value, fromBody.field] : [headers.get(header) ?? undefined, header];
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError("bad_request", `${field}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/** A model of the snapshot; one that does not exist is a 404 (a typo is not a permission problem). */
export function findModel(snapshot: Snapshot, name: string): SnapshotModel {
  const model = Object.hasOwn(snapshot.models, name) ? snapshot.models[name] : undefined;
  if (!model) throw new ApiError("not_found", `model "${name}" does not exist`);
  return model;
}

const pinnable = new WeakMap<SnapshotModel, ReadonlySet<number>>();

/**
 * The versions a client may pin: those the deployment serves (variants, the fallback among them,
 * and shadows) and those an alias points at. A version never deployed, or rolled back and no
 * longer aliased, is not served, even though its spec is in the snapshot.
 */
export function pinnableVersions(model: SnapshotModel): ReadonlySet<number> {
  let set = pinnable.get(model);
  if (!set) {
    const d = model.deployment;
    set = new Set([...(d?.variants.map((v) => v.version) ?? []), ...(d?.shadows.map((s) => s.version) ?? []), ...Object.values(model.aliases ?? {})].filter((v) => Object.hasOwn(model.versions, String(v))));
    pinnable.set(model, set);
  }
  return set;
}

/** The spec of a version a client may pin, or 404 naming it. */
export function pinnedVersion(model: SnapshotModel, version: number) {
  if (!pinnableVersions(model).has(version)) throw new ApiError("not_found", `model "${model.name}" has no version ${version} that gateways serve (only deployed or aliased versions can be pinned)`);
  return model.versions[String(version)]!;
}
