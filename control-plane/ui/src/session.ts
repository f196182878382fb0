// The signed-in session: a token kept for this tab only, the typed client, and the caller's role.
import { controlPlaneClient, type ControlPlaneClient } from "@verge/client";
import { roleAllows, type Endpoint } from "@verge/shared/api/endpoint";
import type { Whoami } from "@verge/shared/schemas/admin/access";

const KEY = "verge.token";

export interface Session {
  cp: ControlPlaneClient;
  me: Whoami;
  /** Whether the signed-in role may call an endpoint: a viewer is offered nothing that changes state. */
  can: (e: Endpoint) => boolean;
}

let current: Session | undefined;

export const session = (): Session | undefined => current;

/** Signs in with a token: checks it with the control plane, keeps it in sessionStorage. */
export async function signIn(token: string): Promise<Session> {
  const cp = controlPlaneClient({ baseUrl: location.origin, token });
  const me = await cp.api.whoami();
  sessionStorage.setItem(KEY, token);
  current = { cp, me, can: (e) => roleAllows(me.role, e.access) };
  return current;
}

/** The session from this tab's stored token, if it still works. */
export async function resume(): Promise<Session | undefined> {
  const token = sessionStorage.getItem(KEY);
  if (!token) return undefined;
  try {
    return await signIn(token);
  } catch {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  current = undefined;
}
