// onnxruntime-web baselines: one-node ONNX graphs built here (onnx-proto), run on ORT's wasm
// execution provider with SIMD and one thread, the way a browser app would run a model.
//
// - int8: MatMulInteger with A uint8 (the input) and B int8 (a constant initializer, like a
//   model's weights, so ORT may pre-pack it at session creation). uint8 x int8 is ORT's fast
//   path (MLAS QGEMM U8S8); int8 x int8 has none (TOOLCHAIN: ~17x slower). aptkit's symmetric
//   8-bit A codes q (|q| <= 127) are fed as q + 128 with a_zero_point = 128, the usual asymmetric
//   activation encoding, so ORT's int32 output is sum (A - 128) * B: the exact product aptkit
//   computes, comparable element for element.
// - f32: MatMul, A float input, B float initializer, on the same codes as floats.
//
// A timed call is `session.run` with the A tensor already built: it includes ORT's copy of A into
// its heap, the kernel, and the copy of Y out into a new typed array (ORT's API has no resident-input
// mode on the wasm EP; and ORT-web 1.30 returns a pre-allocated CPU output tensor passed as `fetches`
// unfilled, all zeros, so the allocating form is the one that works).
import * as ort from "onnxruntime-web";
import onnxProto from "onnx-proto";

// onnx-proto is CommonJS: its default export holds the `onnx` namespace.
const { onnx } = onnxProto as unknown as { onnx: typeof import("onnx-proto").onnx };
const DT = onnx.TensorProto.DataType;

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;
ort.env.logLevel = "error";

export const ortVersion = (): string => ort.env.versions.web ?? "unknown";

function valueInfo(name: string, elemType: number, dims: number[]) {
  return onnx.ValueInfoProto.create({
    name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
}

function modelBytes(node: InstanceType<typeof onnx.NodeProto>, inputs: ReturnType<typeof valueInfo>[],
  output: ReturnType<typeof valueInfo>, initializer: InstanceType<typeof onnx.TensorProto>[]): Uint8Array {
  const graph = onnx.GraphProto.create({ name: "bench", node: [node], input: inputs, output: [output], initializer });
  const model = onnx.ModelProto.create({
    irVersion: 8, producerName: "aptkit-bench", opsetImport: [{ domain: "", version: 13 }], graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export interface OrtGemm {
  /** One session.run on the resident A tensor. */
  run(): Promise<void>;
  /** The last output, row-major M x N. */
  result(): Int32Array | Float32Array;
}

const sessionOptions: ort.InferenceSession.SessionOptions = {
  executionProviders: ["wasm"], graphOptimizationLevel: "all", executionMode: "sequential",
};

/** MatMulInteger, uint8 A (codes + 128, zero point 128) x int8 B initializer. */
export async function ortMatMulInteger(A: Int32Array, B: Int32Array, M: number, K: number, N: number): Promise<OrtGemm> {
  const b8 = Int8Array.from(B);
  const node = onnx.NodeProto.create({ opType: "MatMulInteger", name: "mm", input: ["A", "B", "a_zero_point"], output: ["Y"] });
  const bytes = modelBytes(node, [valueInfo("A", DT.UINT8, [M, K])], valueInfo("Y", DT.INT32, [M, N]), [
    onnx.TensorProto.create({ name: "B", dims: [K, N], dataType: DT.INT8, rawData: new Uint8Array(b8.buffer) }),
    onnx.TensorProto.create({ name: "a_zero_point", dims: [], dataType: DT.UINT8, rawData: new Uint8Array([128]) }),
  ]);
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  const a = new ort.Tensor("uint8", Uint8Array.from(A, (q) => q + 128), [M, K]);
  let last: Int32Array = new Int32Array(0);
  return {
    async run() {
      const out = await session.run({ A: a });
      last = out.Y.data as Int32Array;
    },
    result: () => last,
  };
}

/** MatMul in f32: A input x B initializer, the same codes as floats. */
export async function ortMatMulF32(A: Int32Array, B: Int32Array, M: number, K: number, N: number): Promise<OrtGemm> {
  const bf = Float32Array.from(B);
  const node = onnx.NodeProto.create({ opType: "MatMul", name: "mm", input: ["A", "B"], output: ["Y"] });
  const bytes = modelBytes(node, [valueInfo("A", DT.FLOAT, [M, K])], valueInfo("Y", DT.FLOAT, [M, N]), [
    onnx.TensorProto.create({ name: "B", dims: [K, N], dataType: DT.FLOAT, rawData: new Uint8Array(bf.buffer) }),
  ]);
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  const a = new ort.Tensor("float32", Float32Array.from(A), [M, K]);
  let last: Float32Array = new Float32Array(0);
  return {
    async run() {
      const out = await session.run({ A: a });
      last = out.Y.data as Float32Array;
    },
    result: () => last,
  };
}
