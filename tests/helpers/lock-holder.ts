// A second process for the lock tests: takes the lock of argv[2], prints "locked <pid>" (or
// "refused <code> <ownerPid>"), then holds it until stdin closes or argv[3] milliseconds pass.
import { lockPath } from "../../src/io/lock.js";
import { LockedError } from "../../src/io/errors.js";

const [path, holdMs = "60000"] = process.argv.slice(2);
try {
  const lock = await lockPath(path);
  process.stdout.write(`locked ${process.pid}\n`);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, Number(holdMs));
    process.stdin.on("end", () => { clearTimeout(t); resolve(); });
    process.stdin.resume();
  });
  await lock.release();
  process.stdout.write("released\n");
} catch (e) {
  if (!(e instanceof LockedError)) throw e;
  process.stdout.write(`refused ${e.code} ${e.ownerPid}\n`);
}
