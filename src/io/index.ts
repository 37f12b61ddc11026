// Files a user names: bounded reads, atomic writes, one writer per path (docs/reliability.md).
export { readUserFile, DEFAULT_WRITER_WAIT_MS, DEFAULT_IDLE_MS, type ReadUserFileOptions, type DeclaredLength } from "./read.js";
export { writeFileAtomic, removeStaleTemporaries, temporaryName, processAlive } from "./atomic.js";
export { lockPath, type PathLock } from "./lock.js";
export { InputFileError, LockedError, type InputFileProblem } from "./errors.js";
