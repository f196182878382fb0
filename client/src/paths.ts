// Finding the endpoint contract behind a method and a concrete path, at the type level (so a
// call by path gets the contract's response type) and at run time (so its answer is parsed).
import type { Endpoint } from "@verge/shared/api/endpoint";

type Segments<S extends string> = S extends `${infer Head}/${infer Tail}` ? [Head, ...Segments<Tail>] : [S];
type WithoutQuery<S extends string> = S extends `${infer P}?${string}` ? P : S;
type SegmentsMatch<Pattern extends string[], Actual extends string[]> = Pattern extends [infer P extends string, ...infer PR extends string[]]
  ? Actual extends [infer A extends string, ...infer AR extends string[]]
    ? P extends `{${string}}`
      ? SegmentsMatch<PR, AR>
      : A extends P
        ? SegmentsMatch<PR, AR>
        : false
    : false
  : Actual extends []
    ? true
    : false;

/** The endpoint of catalog `C` served at `method path` (a concrete path, query string allowed). */
export type EndpointAt<C, M extends string, Path extends string> = {
  [K in keyof C]: C[K] extends { method: infer EM; path: infer EP extends string } ? (Lowercase<M> extends EM ? (SegmentsMatch<Segments<EP>, Segments<WithoutQuery<Path>>> extends true ? C[K] : never) : never) : never;
}[keyof C];

const patterns = new WeakMap<Endpoint, RegExp>();

/** The endpoint that serves `method path`, if the catalog has one. */
export function endpointAt<E extends Endpoint>(endpoints: readonly E[], method: string, path: string): E | undefined {
  const bare = path.split("?")[0]!;
  const m = method.toLowerCase();
  return endpoints.find((e) => {
    if (e.method !== m) return false;
    let re = patterns.get(e);
    if (!re) {
      re = new RegExp(`^${e.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\\?\}/g, "[^/]+").replace(/\{\w+\}/g, "[^/]+")}$`);
      patterns.set(e, re);
    }
    return re.test(bare);
  });
}
