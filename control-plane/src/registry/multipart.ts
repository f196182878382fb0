// A pull-based multipart/form-data reader over a ReadableStream that hands out each part's body as
// it arrives, so an artifact of up to 100 MiB is never held whole. The maintained parsers on npm
// (@remix-run/multipart-parser and its predecessor) buffer each part before handing it out, which is
// exactly what an upload into a 128 MB isolate cannot afford; the boundary scan below is small.
import { ApiError } from "@verge/shared";

export interface PartHeaders {
  name: string;
  filename?: string;
}

const CRLF_CRLF = new Uint8Array([13, 10, 13, 10]);
/** Header blocks larger than this are not a form this route accepts. */
const MAX_HEADER_BYTES = 16 * 1024;

const malformed = (why: string) => new ApiError("bad_request", `body: malformed multipart form (${why})`);

export function boundaryOf(contentType: string): string {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!contentType.toLowerCase().startsWith("multipart/form-data") || !boundary || boundary.length > 70) {
    throw new ApiError("bad_request", "body: must be multipart/form-data with fields `artifact` and `metadata`");
  }
  return boundary;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first!, from); i !== -1 && i + needle.length <= haystack.length; i = haystack.indexOf(first!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class MultipartReader {
  private buffer: Uint8Array = new Uint8Array(0);
  private done = false;
  /** `\r\n--boundary`: every delimiter but the first, which may open the body without the CRLF. */
  private readonly delimiter: Uint8Array;
  private inBody = false;
  private finished = false;

  constructor(
    private readonly source: ReadableStreamDefaultReader<Uint8Array>,
    boundary: string,
  ) {
    this.delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
    // Treat the body as if it began with CRLF so the first delimiter matches like the others.
    this.buffer = new Uint8Array([13, 10]);
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const { value, done } = await this.source.read();
    if (done) {
      this.done = true;
      return false;
    }
    this.buffer = concat(this.buffer, value);
    return true;
  }

  /** The next part's headers, or null after the closing delimiter. Any unread body is skipped. */
  async nextPart(): Promise<PartHeaders | null> {
    while (this.inBody) await this.read();
    if (this.finished) return null;
    // Find the delimiter (skipping a preamble), then its `--` (end) or CRLF (a part follows).
    for (;;) {
      const at = indexOf(this.buffer, this.delimiter);
      if (at !== -1 && this.buffer.length >= at + this.delimiter.length + 2) {
        const after = this.buffer.subarray(at + this.delimiter.length, at + this.delimiter.length + 2);
        this.buffer = this.buffer.subarray(at + this.delimiter.length + 2);
        if (after[0] === 45 && after[1] === 45) {
          this.finished = true;
          return null;
        }
        if (after[0] !== 13 || after[1] !== 10) throw malformed("bad delimiter");
        break;
      }
      if (at === -1 && this.buffer.length > this.delimiter.length) this.buffer = this.buffer.subarray(this.buffer.length - this.delimiter.length);
      if (!(await this.fill())) throw malformed("no closing boundary");
    }
    for (;;) {
      const end = indexOf(this.buffer, CRLF_CRLF);
      if (end !== -1) {
        const headers = new TextDecoder().decode(this.buffer.subarray(0, end));
        this.buffer = this.buffer.subarray(end + 4);
        this.inBody = true;
        return parseHeaders(headers);
      }
      if (this.buffer.length > MAX_HEADER_BYTES) throw malformed("part headers too large");
      if (!(await this.fill())) throw malformed("truncated part headers");
    }
  }

  /** The next chunk of the current part's body, or null at its end. */
  async read(): Promise<Uint8Array | null> {
    if (!this.inBody) return null;
    for (;;) {
      const at = indexOf(this.buffer, this.delimiter);
      if (at !== -1) {
        const chunk = this.buffer.subarray(0, at);
        // Keep the delimiter for nextPart to consume.
        this.buffer = this.buffer.subarray(at);
        if (chunk.length > 0) return chunk;
        this.inBody = false;
        return null;
      }
      // Everything but a possible partial delimiter at the end is body.
      const safe = this.buffer.length - (this.delimiter.length - 1);
      if (safe > 0) {
        const chunk = this.buffer.subarray(0, safe);
        this.buffer = this.buffer.slice(safe);
        return chunk;
      }
      if (!(await this.fill())) throw malformed("truncated part");
    }
  }
}

function parseHeaders(block: string): PartHeaders {
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1 || line.slice(0, colon).trim().toLowerCase() !== "content-disposition") continue;
    const value = line.slice(colon + 1);
    const param = (key: string) => new RegExp(`;\\s*${key}="([^"]*)"`, "i").exec(value)?.[1] ?? new RegExp(`;\\s*${key}=([^;\\s]+)`, "i").exec(value)?.[1];
    const name = param("name");
    if (name === undefined) break;
    const filename = param("filename");
    return filename === undefined ? { name } : { name, filename };
  }
  throw malformed("a part without a content-disposition name");
}
