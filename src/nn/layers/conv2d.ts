// 2-D convolution on NHWC tensors as implicit-im2col GEMMs (docs/kernels.md):
//   forward      Y (P x Co)  = patches(X) (P x KH*KW*Ci) * W^T
//   input error  dX (N*H*W x Ci) = patches(dY dilated by the stride, padded KH-1-pad) * flip(W)
//   weights      W += round(lr * dY^T (Co x P) * patches(X) / step)
import { tensorView, type View } from "../../runtime/descriptors.js";
import type { QTensor } from "../../engine/quant.js";
import { LinearLayer } from "./linear.js";
import { convGeometry, resolveConv2d, type Conv2dOptions } from "../graph.js";

export type { Conv2dOptions };

export class Conv2d extends LinearLayer {
  readonly kind = "conv2d";
  readonly filters: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  private n = 0; private h = 0; private w = 0; private c = 0; private oh = 0; private ow = 0; private cols = 0;

  constructor(o: Conv2dOptions, name: string) {
    super(name, o.relu ?? false);
    ({ filters: this.filters, kh: this.kh, kw: this.kw, sh: this.sh, sw: this.sw, ph: this.ph, pw: this.pw } = convGeometry(o, name));
  }

  protected checkInput(s: readonly number[]): number[] {
    const [n, ...sample] = s;
    const r = resolveConv2d(this.name, this, sample, n);
    this.n = n;
    [this.h, this.w, this.c] = sample;
    [this.oh, this.ow] = r.output;
    this.cols = r.cols;
    return [n, ...r.output];
  }

  protected weightShape() {
    return { rows: this.filters, cols: this.cols };
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
