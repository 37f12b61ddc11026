// 2-D convolution on NHWC tensors as implicit-im2col GEMMs (docs/kernels.md):
//   forward      Y (P x Co)  = patches(X) (P x KH*KW*Ci) * W^T
//   input error  dX (N*H*W x Ci) = patches(dY dilated by the stride, padded KH-1-pad) * flip(W)
//   weights      W += round(lr * dY^T (Co x P) * patches(X) / step)
import { tensorView, type View } from "../../runtime/descriptors.js";
import type { QTensor } from "../../engine/quant.js";
import { LinearLayer } from "./linear.js";

export interface Conv2dOptions {
  filters: number;
  kernel: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  relu?: boolean;
  name?: string;
}

function pair(v: number | [number, number] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === "number" ? [v, v] : v;
}

export class Conv2d extends LinearLayer {
  readonly kind = "conv2d";
  readonly filters: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  private n = 0; private h = 0; private w = 0; private c = 0; private oh = 0; private ow = 0;

  constructor(o: Conv2dOptions, name: string) {
    super(name, o.relu ?? false);
    this.filters = o.filters;
    [this.kh, this.kw] = pair(o.kernel, 1);
    [this.sh, this.sw] = pair(o.stride, 1);
    [this.ph, this.pw] = pair(o.padding, 0);
    const positive = { filters: this.filters, "kernel height": this.kh, "kernel width": this.kw, "stride height": this.sh, "stride width": this.sw };
    for (const [k, v] of Object.entries(positive)) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name}: ${k} must be a positive integer, got ${v}`);
    }
    for (const [k, v] of Object.entries({ "padding height": this.ph, "padding width": this.pw })) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: ${k} must be a non-negative integer, got ${v}`);
    }
  }

  protected checkInput(s: readonly number[]): number[] {
    if (s.length !== 4) throw new RangeError(`${this.name}: input must be [N, H, W, C], got [${s.join(", ")}]`);
    [this.n, this.h, this.w, this.c] = s;
    const hp = this.h + 2 * this.ph, wp = this.w + 2 * this.pw;
    if (this.kh > hp || this.kw > wp) {
      throw new RangeError(`${this.name}: kernel ${this.kh}x${this.kw} is larger than the padded input ${hp}x${wp}`);
    }
    this.oh = Math.floor((hp - this.kh) / this.sh) + 1;
    this.ow = Math.floor((wp - this.kw) / this.sw) + 1;
    return [this.n, this.oh, this.ow, this.filters];
  }

  protected weightShape() {
    return { rows: this.filters, cols: this.kh * this.kw * this.c };
  }

  protected positions(): number {
    return this.n * this.oh * this.ow;
  }

  protected patches(x: QTensor): View {
    return {
      kind: "im2col", at: x.at, bits: x.bits, n: this.n, h: this.h, w: this.w, c: this.c,
      kh: this.kh, kw: this.kw, strideH: this.sh, strideW: this.sw, padH: this.ph, padW: this.pw,
      dilateH: 1, dilateW: 1, outH: this.oh, outW: this.ow,
    };
  }

  protected outputView(at: number, bits: number, trans = false): View {
    return tensorView(at, bits, this.n, this.oh, this.ow, this.filters, trans);
  }

  protected errorPatches(dy: QTensor): View {
    return {
      kind: "im2col", at: dy.at, bits: dy.bits, n: this.n, h: this.oh, w: this.ow, c: this.filters,
      kh: this.kh, kw: this.kw, strideH: 1, strideW: 1,
      padH: this.kh - 1 - this.ph, padW: this.kw - 1 - this.pw,
      dilateH: this.sh, dilateW: this.sw, outH: this.h, outW: this.w,
    };
  }

  protected weightsForError(): View {
    const w = this.weight;
    return { kind: "wflip", at: w.at, bits: w.bits, cout: this.filters, cin: this.c, kh: this.kh, kw: this.kw };
  }

  protected inputErrorView(at: number): View {
    return tensorView(at, this.errBits, this.n, this.h, this.w, this.c);
  }
}
