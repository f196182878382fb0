// A version upload received as a stream: the artifact part goes to R2 in fixed-size parts, hashed as
// it passes and its ONNX I/O read by a streaming protobuf walk, so the isolate holds at most about two
// parts of it, never the file. Any failure removes what was stored.
import { ApiError, versionMetadataSchema, type VersionMetadata } from "@verge/shared";
import { parseJson } from "@verge/shared/http";
import type { ModelIo } from "@verge/shared/onnx/reader";
import { ByteSource, readModelIoStream } from "@verge/shared/onnx/stream";
import { boundaryOf, MultipartReader } from "./multipart.ts";

/** R2 multipart parts: at least 5 MiB, and all but the last the same size. */
export const PART_BYTES = 8 * 1024 * 1024;
const MAX_METADATA_BYTES = 1024 * 1024;

export interface ReceivedUpload {
  metadata: VersionMetadata;
  io: ModelIo;
  sha256: string;
  size: number;
}

interface Limits {
  maxBytes: number;
  edgeMaxBytes: number;
}

/** Writes one object from chunks of unknown total length: one `put` when small, else a multipart upload. */
class ArtifactWriter {
  private readonly digest = new crypto.DigestStream("SHA-256");
  private readonly hasher = this.digest.getWriter();
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private upload: R2MultipartUpload | undefined;
  private readonly parts: R2UploadedPart[] = [];
  private stored = false;
  size = 0;

  constructor(
    private readonly bucket: R2Bucket,
    readonly key: string,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    await this.hasher.write(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= PART_BYTES) await this.flushPart(PART_BYTES);
  }

  /** Takes `n` bytes off the front of the pending chunks. */
  private take(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pending[0]!;
      const use = Math.min(head.length, n - filled);
      out.set(head.subarray(0, use), filled);
      filled += use;
      if (use === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(use);
    }
    this.pendingBytes -= n;
    return out;
  }

  private async flushPart(n: number): Promise<void> {
    this.upload ??= await this.bucket.createMultipartUpload(this.key, { httpMetadata: { contentType: "application/octet-stream" } });
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.take(n)));
  }

  async finish(): Promise<{ sha256: string; size: number }> {
    await this.hasher.close();
    const sha256 = [...new Uint8Array(await this.digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    if (!this.upload) {
      // R2 checks the bytes against the hash computed while they streamed in.
      await this.bucket.put(this.key, this.take(this.pendingBytes), { sha256, httpMetadata: { contentType: "application/octet-stream" } });
    } else {
      if (this.pendingBytes > 0) await this.flushPart(this.pendingBytes);
      await this.upload.complete(this.parts);
    }
    this.stored = true;
    return { sha256, size: this.size };
  }

  /** Removes whatever was written: the unfinished multipart upload, or the object. */
  async discard(): Promise<void> {
    this.pending = [];
    await this.hasher.abort().catch(() => undefined);
    if (this.upload && !this.stored) await this.upload.abort().catch(() => undefined);
    if (this.stored) await this.bucket.delete(this.key);
  }
}

async function readText(parts: MultipartReader, limit: number, field: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await parts.read(); chunk; chunk = await parts.read()) {
    size += chunk.length;
    if (size > limit) throw new ApiError("payload_too_large", `${field}: limited to ${limit} bytes`);
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) (all.set(c, at), (at += c.length));
  return new TextDecoder().decode(all);
}

function parseMetadata(raw: string): VersionMetadata {
  return parseJson(versionMetadataSchema, raw, "metadata");
}

/**
 * Reads the form (`artifact` file, `metadata` JSON text, in either order) and stores the artifact at
 * `key`. On any failure, including the client going away, the stored bytes are removed (through
 * `defer`, so the cleanup outlives a cancelled request) and the error is rethrown.
 */
export async function receiveUpload(
  bucket: R2Bucket,
  key: string,
  req: Request,
  limits: Limits,
  defer: (p: Promise<unknown>) => void,
): Promise<ReceivedUpload> {
  const boundary = boundaryOf(req.headers.get("content-type") ?? "");
  if (!req.body) throw new ApiError("bad_request", "body: must be multipart/form-data with fields `artifact` and `metadata`");
  const reader = req.body.getReader();
  const parts = new MultipartReader(reader, boundary);
  const writer = new ArtifactWriter(bucket, key);
  let metadata: VersionMetadata | undefined;
  let artifact: { io: ModelIo; sha256: string; size: number } | undefined;
  try {
    for (let part = await parts.nextPart(); part; part = await parts.nextPart()) {
      if (part.name === "metadata") {
        if (part.filename !== undefined) throw new ApiError("bad_request", "metadata: a text field named `metadata` (JSON) is required");
        metadata = parseMetadata(await readText(parts, MAX_METADATA_BYTES, "metadata"));
      } else if (part.name === "artifact") {
        if (part.filename === undefined) throw new ApiError("bad_request", "artifact: a file field named `artifact` is required");
        if (artifact) throw new ApiError("bad_request", "artifact: sent more than once");
        const source = new ByteSource(async () => {
          const chunk = await parts.read();
          if (chunk) {
            const limit = metadata?.runtime === "edge" ? limits.edgeMaxBytes : limits.maxBytes;
            if (writer.size + chunk.length > limit) {
              throw new ApiError("payload_too_large", `artifact: exceeds the ${limit}-byte limit${metadata?.runtime === "edge" ? ' for edge versions (use runtime "origin")' : ""}`);
            }
            await writer.write(chunk);
          }
          return chunk;
        });
        const io = await readModelIoStream(source);
        artifact = { io, ...(await writer.finish()) };
      }
      // Other fields are skipped by the next nextPart().
    }
    if (!artifact) throw new ApiError("bad_request", "artifact: a file field named `artifact` is required");
    if (!metadata) throw new ApiError("bad_request", "metadata: a text field named `metadata` (JSON) is required");
    return { metadata, ...artifact };
  } catch (error) {
    const cleanup = writer.discard();
    defer(cleanup);
    reader.cancel().catch(() => undefined);
    await cleanup.catch(() => undefined);
    throw error;
  }
}
