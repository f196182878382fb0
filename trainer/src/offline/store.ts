// The offline store: Parquet and CSV tables under a local folder or an `s3://bucket/prefix` (S3, R2),
// read through DuckDB. Bad data (a missing file, a corrupt one, a missing column) becomes an
// `OfflineDataError` that names the table and the field, so a job fails with a reason and a route
// answers 400.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { DuckDBConnection, DuckDBInstance, DuckDBValue, JS } from "@duckdb/node-api";
import { ApiError } from "@verge/shared";
import type { Config } from "../config.ts";

/** Bad input data: answers 400 and names what to fix. `path` is the table, `field` the request field. */
export class OfflineDataError extends ApiError {
  constructor(
    message: string,
    readonly path?: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super("bad_request", message, { ...(path ? { path } : {}), ...(field ? { field } : {}) });
    this.name = "OfflineDataError";
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export interface S3Options {
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

export interface OfflineStoreOptions {
  /** A local folder, or `s3://bucket/prefix`. */
  root: string;
  s3?: S3Options;
  /** DuckDB's extension folder and the repository it installs missing extensions from. */
  extensions?: { directory?: string | undefined; repository?: string | undefined };
}

export function offlineStoreOptions(config: Config): OfflineStoreOptions {
  return {
    root: config.VERGE_OFFLINE_ROOT,
    s3: { endpoint: config.VERGE_S3_ENDPOINT, region: config.VERGE_S3_REGION, accessKeyId: config.VERGE_S3_ACCESS_KEY_ID, secretAccessKey: config.VERGE_S3_SECRET_ACCESS_KEY },
    extensions: { directory: config.VERGE_DUCKDB_EXTENSION_DIR, repository: config.VERGE_DUCKDB_EXTENSION_REPOSITORY },
  };
}

/** Collects bound parameters while a query is written: `p.bind(value)` returns its `$name`. */
export class Params {
  readonly values: Record<string, DuckDBValue> = {};
  private n = 0;
  bind(value: DuckDBValue): string {
    const name = `p${this.n++}`;
    this.values[name] = value;
    return `$${name}`;
  }
}

/** A column name as a SQL identifier. Names are validated by the schemas; quoting keeps any name literal. */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

export class OfflineStore {
  private constructor(
    readonly root: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(options: OfflineStoreOptions): Promise<OfflineStore> {
    const remote = options.root.startsWith("s3://");
    const root = remote ? options.root.replace(/\/+$/, "") : resolve(options.root);
    const settings: Record<string, string> = {};
    if (options.extensions?.directory) settings.extension_directory = options.extensions.directory;
    if (options.extensions?.repository) settings.custom_extension_repository = options.extensions.repository;
    // Loaded on first use: DuckDB's native module is a third of the trainer's start-up time.
    const { DuckDBInstance: Instance } = await import("@duckdb/node-api");
    const instance = await Instance.create(":memory:", settings);
    const connection = await instance.connect();
    const store = new OfflineStore(root, instance, connection);
    if (remote) await store.configureS3(options.s3 ?? { region: "auto" }).catch((err: unknown) => (store.close(), Promise.reject(err)));
    return store;
  }

  get remote(): boolean {
    return this.root.startsWith("s3://");
  }

  /** Where a table path (relative to the root, validated by `tablePathSchema`) lives. */
  location(path: string): string {
    return `${this.root}/${path}`;
  }

  /** The SQL table expression for a table, its location bound as a parameter; with `fileColumn`, each row names its file there. */
  scan(path: string, params: Params, fileColumn?: string): string {
    const reader = /\.csv$/i.test(path) ? "read_csv_auto" : "read_parquet";
    return `${reader}(${params.bind(this.location(path))}${fileColumn ? `, filename = ${params.bind(fileColumn)}` : ""})`;
  }

  /** Column name → DuckDB type of a table. */
  async columns(path: string): Promise<Map<string, string>> {
    const params = new Params();
    const reader = await this.run(`SELECT * FROM ${this.scan(path, params)} LIMIT 0`, params, path);
    const types = reader.columnTypes();
    return new Map(reader.columnNames().map((name, i) => [name, String(types[i])]));
  }

  /** Fails with the first missing column, naming the request field that chose it. */
  async requireColumns(path: string, required: readonly { column: string; field: string }[]): Promise<Map<string, string>> {
    const columns = await this.columns(path);
    for (const { column, field } of required) {
      if (!columns.has(column)) {
        throw new OfflineDataError(`${path} has no column "${column}" (set by ${field}); its columns are: ${[...columns.keys()].join(", ")}`, path, field);
      }
    }
    return columns;
  }

  /** Runs a query and returns rows as plain JS values; a failure that names `path` becomes an OfflineDataError. */
  async query(sql: string, params: Params, path?: string): Promise<Record<string, JS>[]> {
    return (await this.run(sql, params, path)).getRowObjectsJS();
  }

  /**
   * Runs a query and yields its rows batch by batch (DuckDB's chunks of up to 2,048 rows), so a
   * large table never sits in memory whole. One stream at a time per store: finish or break out
   * of it before the next query.
   */
  async *stream(sql: string, params: Params, path?: string): AsyncGenerator<Record<string, JS>[]> {
    let batches: AsyncIterator<Record<string, JS>[]>;
    try {
      batches = (await this.connection.stream(sql, params.values)).yieldRowObjectJs();
    } catch (err) {
      throw path ? explain(err, path) : err;
    }
    for (;;) {
      let next: IteratorResult<Record<string, JS>[]>;
      try {
        next = await batches.next();
      } catch (err) {
        throw path ? explain(err, path) : err;
      }
      if (next.done) return;
      yield next.value;
    }
  }

  /** The files a table path matches, sorted. */
  async files(path: string): Promise<string[]> {
    const params = new Params();
    const rows = await this.query(`SELECT file FROM glob(${params.bind(this.location(path))}) ORDER BY file`, params, path);
    if (rows.length === 0) throw missing(path);
    return rows.map((r) => String(r.file));
  }

  /**
   * sha256 over the bytes of every file the tables match, in the order given (each table's files
   * sorted): one file gives the same digest as `sha256sum`. Local files are streamed through
   * node:crypto; remote ones are read whole through DuckDB.
   */
  async sha256(paths: readonly string[]): Promise<string> {
    const hash = createHash("sha256");
    for (const path of paths) {
      for (const file of await this.files(path)) {
        if (this.remote) {
          const params = new Params();
          const [row] = await this.query(`SELECT content FROM read_blob(${params.bind(file)})`, params, path);
          hash.update(row?.content as Uint8Array);
        } else {
          for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
        }
      }
    }
    return hash.digest("hex");
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private async run(sql: string, params: Params, path?: string) {
    try {
      return await this.connection.runAndReadAll(sql, params.values);
    } catch (err) {
      throw path ? explain(err, path) : err;
    }
  }

  private async configureS3(s3: S3Options): Promise<void> {
    try {
      await this.connection.run("LOAD httpfs");
    } catch {
      try {
        await this.connection.run("INSTALL httpfs");
        await this.connection.run("LOAD httpfs");
      } catch (err) {
        throw new ApiError(
          "unavailable",
          `the offline store ${this.root} is on S3, which needs DuckDB's "httpfs" extension, and it could neither be loaded nor installed (${firstLine(err)}). ` +
            `Install it where the trainer runs (duckdb: INSTALL httpfs, with network access or from the mirror in VERGE_DUCKDB_EXTENSION_REPOSITORY, into VERGE_DUCKDB_EXTENSION_DIR or ~/.duckdb/extensions) or use a local VERGE_OFFLINE_ROOT.`,
        );
      }
    }
    const params = new Params();
    const options = [`TYPE s3`, `REGION ${params.bind(s3.region)}`, `URL_STYLE 'path'`];
    if (s3.endpoint) {
      const url = new URL(/^https?:\/\//.test(s3.endpoint) ? s3.endpoint : `https://${s3.endpoint}`);
      options.push(`ENDPOINT ${params.bind(url.host)}`, `USE_SSL ${url.protocol === "https:" ? "true" : "false"}`);
    }
    if (s3.accessKeyId && s3.secretAccessKey) options.push(`KEY_ID ${params.bind(s3.accessKeyId)}`, `SECRET ${params.bind(s3.secretAccessKey)}`);
    await this.connection.run(`CREATE OR REPLACE SECRET verge_offline (${options.join(", ")})`, params.values);
  }
}

/** Opens a store, runs `fn`, and closes it. */
export async function withOfflineStore<T>(options: OfflineStoreOptions, fn: (store: OfflineStore) => Promise<T>): Promise<T> {
  const store = await OfflineStore.open(options);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

const missing = (path: string) => new OfflineDataError(`${path}: no such file in the offline store; check the path (relative to the store's root) and that the file was written`, path);

function explain(err: unknown, path: string): OfflineDataError {
  const message = firstLine(err);
  if (/No files found|No such file|Cannot open file/i.test(message)) return Object.assign(missing(path), { cause: err });
  if (/Binder Error/i.test(message)) return new OfflineDataError(`${path}: ${message.replace(/^Binder Error:\s*/, "")}; check the column names in the request against the file`, path, undefined, { cause: err });
  return new OfflineDataError(`${path} could not be read (${message}); check that it is a valid ${/\.csv$/i.test(path) ? "CSV" : "Parquet"} file with the expected columns and types`, path, undefined, { cause: err });
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!.trim();
