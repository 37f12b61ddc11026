import * as tf from "@tensorflow/tfjs";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
console.log(tf.version, Object.keys(tfwasm));
tfwasm.setThreadsCount?.(1);
await tf.setBackend("wasm"); await tf.ready();
console.log(tf.getBackend(), (tf.backend() as any).wasm ? "has wasm": "", tf.env().getBool("WASM_HAS_SIMD_SUPPORT"), tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT"), tfwasm.getThreadsCount?.());
const a = tf.randomNormal([256,256]), b = tf.randomNormal([256,256]);
for (let i=0;i<5;i++){ const t0=performance.now(); const c = tf.matMul(a,b); c.dataSync(); c.dispose(); console.log(performance.now()-t0);}
