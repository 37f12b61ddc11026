// The errors of src/io: a file a user named that cannot be read within its bounds, and a path
// another process is writing.

/** Why a named file was refused. */
export type InputFileProblem =
  | "missing" | "unreadable" | "directory" | "not-a-file" | "too-large" | "longer-than-declared"
  | "no-writer" | "stalled";

/**
 * A file named by a user (a model file, a checkpoint, a data set file) that was not read: it is
 * missing, is not a regular file or a pipe, or is larger than its limit. The message names the path,
 * what the file was meant to be, and the limit; the same facts are kept as properties.
 */
export class InputFileError extends Error {
  override readonly name = "InputFileError";
  readonly code = "APTKIT_INPUT_FILE";
  constructor(
    readonly path: string,
    /** What the file was meant to be ("model file", "checkpoint", ...). */
    readonly what: string,
    readonly problem: InputFileProblem,
    /** The byte limit in force (0 where none applies). */
    readonly limit: number,
    /** The message without the leading "<what> <path>: ". */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} ${path}: ${detail}`, options);
  }
}

/** The path is locked by another live process (or by an earlier holder in this one). */
export class LockedError extends Error {
  override readonly name = "LockedError";
  readonly code = "APTKIT_LOCKED";
  constructor(
    /** The path that was to be written. */
    readonly path: string,
    /** The lock file that holds the owner. */
    readonly lockFile: string,
    readonly ownerPid: number,
    readonly ownerHost: string,
    detail: string,
  ) {
    super(`${path} is in use: ${detail}`);
  }
}
