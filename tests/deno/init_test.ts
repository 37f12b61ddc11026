// Deno: init() with bytes and with a compiled module, as a browser or worker would call it, and
// a memory-budgeted engine on the registered bytes.
import * as aptkit from "../../dist/index.js";
import { GEMM_CASES, checkGemm } from "../portable/cases.mjs";

const file = (isa: string) => new URL(`../../build/aptkit.${isa}.wasm`, import.meta.url);

function reset(): void {
  aptkit.setWasmSource("simd", null);
  aptkit.setWasmSource("scalar", null);
}

Deno.test("init({ bytes }) tells the build from its own exports and the kernels use it", async () => {
  try {
    const { isa } = await aptkit.init({ bytes: await Deno.readFile(file("scalar")) });
    if (isa !== "scalar") throw new Error(`scalar bytes detected as ${isa}`);
    // Only the scalar build is registered: "auto" stays with it.
    const kernels = await aptkit.createKernels();
    if (kernels.isa !== "scalar") throw new Error(`auto picked ${kernels.isa}`);
    const error = checkGemm(aptkit, kernels, GEMM_CASES[1]);
    if (error) throw new Error(error);
  } finally {
    reset();
  }
});

Deno.test("init({ module }) runs kernels and an unbudgeted engine; a budget asks for bytes", async () => {
  try {
    const module = await WebAssembly.compile(await Deno.readFile(file("simd")));
    const { isa } = await aptkit.init({ module });
    if (isa !== "simd") throw new Error(`simd module detected as ${isa}`);
    const kernels = await aptkit.createKernels({ isa: "simd" });
    const error = checkGemm(aptkit, kernels, GEMM_CASES[2]);
    if (error) throw new Error(error);
    const engine = await aptkit.Engine.create("simd");
    if (engine.isa !== "simd") throw new Error(`engine on ${engine.isa}`);
    let message = "";
    try {
      await aptkit.Engine.create("simd", { budgetBytes: 256 * 1024 });
    } catch (e) {
      message = String((e as Error).message);
    }
    if (!/init\(\{ bytes \}\)/.test(message)) throw new Error(`expected the bytes-or-url hint, got ${JSON.stringify(message)}`);
  } finally {
    reset();
  }
});

Deno.test("init({ url }) fetches the build; a budgeted engine caps its memory", async () => {
  try {
    const { isa } = await aptkit.init({ url: file("simd") });
    if (isa !== "simd") throw new Error(`detected ${isa}`);
    const engine = await aptkit.Engine.create("auto", { budgetBytes: 128 * 1024 });
    if (engine.budgetBytes !== 128 * 1024) throw new Error(`budget ${engine.budgetBytes}`);
    let refused = false;
    try {
      engine.abi.memory.grow(2); // 1 page now, 2 allowed: growing by 2 exceeds the cap
    } catch {
      refused = true;
    }
    if (!refused) throw new Error("memory grew past the budget");
  } finally {
    reset();
  }
});

Deno.test("init refuses two sources, and bytes that are not an aptkit build", async () => {
  let message = "";
  try {
    await aptkit.init({ bytes: new Uint8Array(8), url: "x" });
  } catch (e) {
    message = (e as Error).message;
  }
  if (!/one of module, bytes or url/.test(message)) throw new Error(message);
  const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  message = "";
  try {
    await aptkit.init({ bytes: empty });
  } catch (e) {
    message = (e as Error).message;
  }
  if (!/not an aptkit build/.test(message)) throw new Error(message);
  reset();
});
