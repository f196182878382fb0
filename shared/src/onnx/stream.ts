// Reads an ONNX file's I/O spec from a stream of chunks without holding the file: a protobuf walk that
// keeps only the small messages the spec is made of (graph inputs/outputs, opsets, initializer names)
// and skips node and tensor bodies, which is where a model's bytes are.
import { ApiError } from "../errors.ts";
import { modelIo, type ModelIo } from "./reader.ts";
import { onnx, type OnnxTypes } from "./proto.ts";

/** A value_info or opset message larger than this is not a graph this reader accepts. */
const MAX_KEPT_MESSAGE = 1024 * 1024;

const invalid = (why: string) => new ApiError("bad_request", `artifact: not an ONNX model (${why})`);

/** Pulls chunks on demand; each chunk is also handed to `tap` (hashing, storage) before it is parsed. */
export class ByteSource {
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  /** Bytes consumed so far. */
  position = 0;

  constructor(private readonly next: () => Promise<Uint8Array | null>) {}

  private async ensure(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      const chunk = await this.next();
      if (chunk === null) return false;
      this.chunk = chunk;
      this.offset = 0;
    }
    return true;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.ensure());
  }

  async byte(): Promise<number> {
    if (!(await this.ensure())) throw invalid("truncated");
    this.position++;
    return this.chunk[this.offset++]!;
  }

  async varint(): Promise<number> {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const b = await this.byte();
      // Lengths and tags fit in 2^53; higher bits only appear in values that are skipped.
      if (shift < 53) value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw invalid("malformed varint");
  }

  async bytes(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.ensure())) throw invalid("truncated");
      const take = Math.min(n - filled, this.chunk.length - this.offset);
      out.set(this.chunk.subarray(this.offset, this.offset + take), filled);
      this.offset += take;
      filled += take;
    }
    this.position += n;
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.ensure())) throw invalid("truncated");
      const take = Math.min(left, this.chunk.length - this.offset);
      this.offset += take;
      left -= take;
    }
    this.position += n;
  }
}

type FieldHandler = (field: number, length: number) => Promise<boolean>;

/**
 * Walks the fields of a message that ends at `end` (or at the end of the stream when undefined).
 * `onField` is called for length-delimited fields and returns whether it consumed the body.
 */
async function walk(src: ByteSource, end: number | undefined, onField: FieldHandler): Promise<void> {
  while (end === undefined ? !(await src.atEnd()) : src.position < end) {
    const tag = await src.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw invalid("field number 0");
    if (wire === 0) await src.varint();
    else if (wire === 1) await src.skip(8);
    else if (wire === 5) await src.skip(4);
    else if (wire === 2) {
      const length = await src.varint();
      if (end !== undefined && src.position + length > end) throw invalid("a field runs past its message");
      if (!(await onField(field, length))) await src.skip(length);
    } else throw invalid(`unsupported wire type ${wire}`);
  }
  if (end !== undefined && src.position !== end) throw invalid("a field runs past its message");
}

async function kept(src: ByteSource, length: number): Promise<Uint8Array> {
  if (length > MAX_KEPT_MESSAGE) throw invalid(`a graph input, output or opset of ${length} bytes`);
  return src.bytes(length);
}

/** The `name` (field 8) of a TensorProto, skipping its data. */
async function tensorName(src: ByteSource, end: number): Promise<string> {
  let name = "";
  await walk(src, end, async (field, length) => {
    if (field !== 8) return false;
    name = new TextDecoder().decode(await kept(src, length));
    return true;
  });
  return name;
}

/** Reads the model's I/O spec from the stream, consuming it to its end. */
export async function readModelIoStream(src: ByteSource): Promise<ModelIo> {
  const inputs: OnnxTypes.IValueInfoProto[] = [];
  const outputs: OnnxTypes.IValueInfoProto[] = [];
  const initializers: string[] = [];
  const opsets: OnnxTypes.IOperatorSetIdProto[] = [];
  let graphs = 0;
  let nodes = 0;
  const decode = <T>(decoder: { decode(b: Uint8Array): T }, bytes: Uint8Array): T => {
    try {
      return decoder.decode(bytes);
    } catch (cause) {
      throw invalid((cause as Error).message);
    }
  };
  // ModelProto: opset_import = 8, graph = 7.
  await walk(src, undefined, async (field, length) => {
    if (field === 8) {
      opsets.push(decode(onnx.OperatorSetIdProto, await kept(src, length)));
      return true;
    }
    if (field !== 7) return false;
    graphs++;
    const end = src.position + length;
    // GraphProto: node = 1, initializer = 5, input = 11, output = 12, sparse_initializer = 15.
    await walk(src, end, async (g, len) => {
      if (g === 1) nodes++;
      else if (g === 11) inputs.push(decode(onnx.ValueInfoProto, await kept(src, len)));
      else if (g === 12) outputs.push(decode(onnx.ValueInfoProto, await kept(src, len)));
      else if (g === 5) initializers.push(await tensorName(src, src.position + len));
      else if (g === 15) {
        // SparseTensorProto: values = 1, a TensorProto carrying the name.
        const sparseEnd = src.position + len;
        await walk(src, sparseEnd, async (s, l) => {
          if (s !== 1) return false;
          initializers.push(await tensorName(src, src.position + l));
          return true;
        });
      } else return false;
      return g !== 1;
    });
    return true;
  });
  if (graphs === 0 || nodes === 0 || outputs.length === 0) throw invalid("no graph, nodes or outputs");
  return modelIo({ inputs, outputs, initializers, opsets });
}
