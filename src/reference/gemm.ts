// Reference GEMM: the definition, C[i][j] = sum_k op(A)[i][k] * op(B)[k][j], on unpacked codes.
import { gemmShape, maxCode, type GemmOptions, type PackedMatrix } from "../format/packed.js";
import { unpack } from "./packed.js";

export function gemm(a: PackedMatrix, b: PackedMatrix, options: GemmOptions = {}): Float64Array {
  const { M, N, K } = gemmShape(a, b, options);
  const A = unpack(a);
  const B = unpack(b);
  const at = options.transA
    ? (i: number, k: number) => A[k * a.cols + i]
    : (i: number, k: number) => A[i * a.cols + k];
  const bt = options.transB
    ? (k: number, j: number) => B[j * b.cols + k]
    : (k: number, j: number) => B[k * b.cols + j];
  // Every partial sum is an integer below K * maxA * maxB; while that is below 2^53, float64
  // addition is exact. gemmShape caps K at 2^22, so 2^22 * (2^15)^2 = 2^52 always holds.
  if (K * maxCode(a.bits) * maxCode(b.bits) >= 2 ** 53) throw new Error("unreachable: K bound");
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += at(i, k) * bt(k, j);
      C[i * N + j] = s;
    }
  }
  return C;
}
