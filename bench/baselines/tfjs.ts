// TF.js baselines: f32 matMul on the wasm backend, and a LeNet-5 training step (the architecture
// of aptkit's lenet5(): conv 5x5x6 same + ReLU, max-pool 2, conv 5x5x16 valid + ReLU, max-pool 2,
// dense 120 + ReLU, 84 + ReLU, 10; softmax cross-entropy; plain SGD) written with tf ops and
// tf.variables, on two backends:
// - cpu, as shipped: the built-in conv2d gradients;
// - wasm (XNNPACK, SIMD, one thread in Node): the wasm backend has no Conv2DBackpropFilter, so
//   the conv layers use a custom gradient built from ops it has (TOOLCHAIN): dx =
//   conv2dTranspose(dy, w) (Conv2DBackpropInput exists), and dW as a conv2d of the (padded)
//   input with the output error, batch and channels swapped:
//     dW[kh,kw,ci,co] = sum_{n,h,w} xpad[n,h+kh,w+kw,ci] dy[n,h,w,co]
//                     = conv2d(xpad^T [ci,Hp,Wp,n], dy^T [Ho,Wo,n,co])[ci,kh,kw,co].
//   The first conv's input error is not needed (as in aptkit), so its custom gradient has the
//   filter as its only input. The custom gradients are checked against the cpu backend's
//   built-in ones before anything is timed.
// One TF.js engine serves both backends: a task switches the active backend in its (untimed)
// beforeAll and runs one step there, which also moves that model's variables to the backend.
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

export const tfjsVersion = (): string => tf.version.tfjs;

let ready = false;
/** Registers and initializes both backends once; wasm with one thread. */
export async function initTfjs(): Promise<{ wasmSimd: boolean; wasmThreads: boolean }> {
  if (!ready) {
    setThreadsCount(1);
    await tf.setBackend("cpu");
    await tf.ready();
    await tf.setBackend("wasm");
    await tf.ready();
    ready = true;
  }
  return {
    wasmSimd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT"),
    wasmThreads: tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT"),
  };
}

export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) throw new Error(`TF.js backend ${name} failed to start`);
}

// ---------------------------------------------------------------------------------------------
// matMul

export interface TfMatMul { run(): void; result(): Float32Array; dispose(): void }

/** f32 matMul on the wasm backend: A, B resident tensors; a call is matMul + dispose of C. */
export async function tfMatMulWasm(A: Int32Array, B: Int32Array, M: number, K: number, N: number): Promise<TfMatMul> {
  await useBackend("wasm");
  const a = tf.tensor2d(Float32Array.from(A), [M, K]), b = tf.tensor2d(Float32Array.from(B), [K, N]);
  return {
    run() { tf.matMul(a, b).dispose(); },
    result() {
      const c = tf.matMul(a, b);
      const out = c.dataSync() as Float32Array;
      c.dispose();
      return out;
    },
    dispose() { a.dispose(); b.dispose(); },
  };
}

// ---------------------------------------------------------------------------------------------
// LeNet-5 training step

type Pad = "same" | "valid";

/** dW = conv2d(xpad^T, dy^T), see the header. */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, pad: Pad): tf.Tensor4D {
  const p = pad === "same" ? (k - 1) / 2 : 0;
  const xp = p ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
  const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [ci, Hp, Wp, n]
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, n, co]
  return tf.transpose(tf.conv2d(xt, dyt, 1, "valid"), [1, 2, 0, 3]) as tf.Tensor4D; // [kh, kw, ci, co]
}

/** conv2d whose gradients use only ops the wasm backend has. */
function customConv(x: tf.Tensor4D, w: tf.Variable, pad: Pad, needInputGrad: boolean): tf.Tensor4D {
  const k = w.shape[0];
  if (!needInputGrad) {
    // The input is data: the filter is the only input of the gradient.
    const f = tf.customGrad(((wt: tf.Tensor, save: tf.GradSaveFunc) => {
      save([wt]);
      return { value: tf.conv2d(x, wt as tf.Tensor4D, 1, pad), gradFunc: (dy: tf.Tensor) => filterGrad(x, dy as tf.Tensor4D, k, pad) };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return f(w) as tf.Tensor4D;
  }
  const f = tf.customGrad(((xt: tf.Tensor, wt: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xt, wt]);
    return {
      value: tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [tf.conv2dTranspose(dy as tf.Tensor4D, ws, xs.shape, 1, pad), filterGrad(xs, dy as tf.Tensor4D, k, pad)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

export interface TfLenet {
  backend: "cpu" | "wasm";
  customConvGrad: boolean;
  vars: tf.Variable[];
  /** One SGD step on a batch (upload, forward, loss, backward, update); returns the loss. */
  step(images: Float32Array, labels: Uint8Array): number;
  /** The gradients of one batch, for checking custom against built-in. */
  grads(images: Float32Array, labels: Uint8Array): Float32Array[];
  dispose(): void;
}

/** He-normal weights from a fixed seed, so both backends start from the same model. */
function initialWeights(seed: number): { shape: number[]; values: Float32Array }[] {
  const shapes = [[5, 5, 1, 6], [6], [5, 5, 6, 16], [16], [400, 120], [120], [120, 84], [84], [84, 10], [10]];
  return tf.tidy(() => shapes.map((shape, i) => {
    const fanIn = shape.length === 1 ? 0 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const values = fanIn === 0
      ? new Float32Array(shape[0])
      : (tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", seed + i).dataSync() as Float32Array).slice();
    return { shape, values };
  }));
}

export async function tfLenet(backend: "cpu" | "wasm", batch: number, lr: number, seed = 7): Promise<TfLenet> {
  await useBackend(backend);
  const customConvGrad = backend === "wasm";
  const vars = initialWeights(seed).map((w, i) => tf.variable(tf.tensor(w.values, w.shape), true, `${backend}_lenet_${i}`));
  const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = vars;
  const conv = (x: tf.Tensor4D, w: tf.Variable, pad: Pad, needInputGrad: boolean) =>
    customConvGrad ? customConv(x, w, pad, needInputGrad) : tf.conv2d(x, w as tf.Tensor4D, 1, pad);
  const loss = (x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar => {
    let h = tf.maxPool(tf.relu(tf.add(conv(x, w1, "same", false), b1)) as tf.Tensor4D, 2, 2, "valid");
    h = tf.maxPool(tf.relu(tf.add(conv(h, w2, "valid", true), b2)) as tf.Tensor4D, 2, 2, "valid");
    let d = tf.reshape(h, [batch, 400]) as tf.Tensor2D;
    d = tf.relu(tf.add(tf.matMul(d, w3 as tf.Tensor2D), b3)) as tf.Tensor2D;
    d = tf.relu(tf.add(tf.matMul(d, w4 as tf.Tensor2D), b4)) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(d, w5 as tf.Tensor2D), b5) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  const inputs = (images: Float32Array, labels: Uint8Array) => {
    const x = tf.tensor4d(images, [batch, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(labels, "int32"), 10).toFloat() as tf.Tensor2D;
    return { x, y };
  };
  const optimizer = tf.train.sgd(lr);
  return {
    backend, customConvGrad, vars,
    step(images, labels) {
      return tf.tidy(() => {
        const { x, y } = inputs(images, labels);
        const cost = optimizer.minimize(() => loss(x, y), true, vars)!;
        return cost.dataSync()[0];
      });
    },
    grads(images, labels) {
      return tf.tidy(() => {
        const { x, y } = inputs(images, labels);
        const { grads } = tf.variableGrads(() => loss(x, y), vars);
        return vars.map((v) => (grads[v.name].dataSync() as Float32Array).slice());
      });
    },
    dispose() { for (const v of vars) v.dispose(); optimizer.dispose(); },
  };
}

/** tf.profile of one step: the peak of live tensor bytes (variables, batch and every temporary). */
export async function stepPeakBytes(model: TfLenet, images: Float32Array, labels: Uint8Array): Promise<{ peakBytes: number; newBytes: number; kernels: number }> {
  await useBackend(model.backend);
  model.step(images, labels); // moves the variables to this backend first
  const info = await tf.profile(() => { model.step(images, labels); });
  return { peakBytes: info.peakBytes, newBytes: info.newBytes, kernels: info.kernels.length };
}
