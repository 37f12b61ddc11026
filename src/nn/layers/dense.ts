// Fully connected: y[n, o] = sum_f x[n, f] W[o, f] + b[o]. A 4-D input is flattened by its view
// (the whole image as one patch), so no copy is made.
import type { Im2colView, PlainView, View } from "../../runtime/descriptors.js";
import type { QTensor } from "../../engine/quant.js";
import { LinearLayer } from "./linear.js";
import { checkUnits, resolveDense } from "../graph.js";

/** x as an N x features matrix whatever its storage. */
export function flatView(at: number, shape: readonly number[], bits: number, trans = false): View {
  if (shape.length === 2) return { kind: "plain", at, bits, rows: shape[0], cols: shape[1], trans } satisfies PlainView;
  const [n, h, w, c] = shape;
  return {
    kind: "im2col", at, bits, n, h, w, c, kh: h, kw: w, strideH: 1, strideW: 1,
    padH: 0, padW: 0, dilateH: 1, dilateW: 1, outH: 1, outW: 1, trans,
  } satisfies Im2colView;
}

export class Dense extends LinearLayer {
  readonly kind = "dense";
  private features = 0;

  constructor(readonly units: number, relu: boolean, name: string) {
    super(name, relu);
    checkUnits(units, name);
  }

  protected checkInput(inputShape: readonly number[]): number[] {
    const [n, ...sample] = inputShape;
    const r = resolveDense(this.name, this.units, sample, n);
    this.features = r.cols;
    return [n, ...r.output];
  }

  protected weightShape() {
    return { rows: this.units, cols: this.features };
  }

  protected positions(): number {
    return this.batch;
  }

  protected patches(x: QTensor): View {
    return flatView(x.at, x.shape, x.bits);
  }

  protected outputView(at: number, bits: number, trans = false): View {
    return { kind: "plain", at, bits, rows: this.batch, cols: this.units, trans };
  }

  protected errorPatches(dy: QTensor): View {
    return this.outputView(dy.at, dy.bits);
  }

  protected weightsForError(): View {
    return this.weightView(false);
  }

  protected inputErrorView(at: number): View {
    return flatView(at, this.inputStorage, this.errBits);
  }
}
