// What every command gets: the connection, the clients, and how to print.
import { controlPlaneClient, trainerClient, type ControlPlaneClient, type TrainerClient } from "@verge/client";
import type { Command } from "commander";
import { resolveConnection, type Connection, type GlobalOptions } from "./config.ts";

export interface Context {
  conn: Connection;
  cp: ControlPlaneClient;
  trainer: TrainerClient;
  json: boolean;
}

/** The context of a command, from the options of the program it belongs to. */
export function contextOf(cmd: Command): Context {
  const o = cmd.optsWithGlobals<GlobalOptions>();
  const conn = resolveConnection(o);
  return {
    conn,
    cp: controlPlaneClient({ baseUrl: conn.url, ...(conn.token ? { token: conn.token } : {}) }),
    trainer: trainerClient({ baseUrl: conn.trainerUrl, ...(conn.trainerToken ? { token: conn.trainerToken } : {}) }),
    json: o.json === true,
  };
}

/** A positive integer argument, or a usage error naming it. */
export function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: "${value}" is not a whole number`);
    return n;
  };
}
