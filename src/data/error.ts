// The one error type of src/data: a dataset file that cannot be read as what it claims to be.

export interface DatasetErrorOptions {
  /** The file (or package) the problem is in. */
  file: string;
  /** Byte offset of the problem inside the file's contents; -1 where no position applies. */
  offset: number;
  /** True when `offset` counts bytes of the decompressed stream of a gzipped file. */
  decompressed?: boolean;
  cause?: unknown;
}

/**
 * Thrown for a missing, truncated or malformed dataset file. The message already names the file
 * and the byte offset (and says when that offset is into the decompressed stream); the same
 * facts are kept as properties for programs.
 */
export class DatasetError extends Error {
  readonly code = "APTKIT_DATASET";
  readonly file: string;
  readonly offset: number;
  readonly decompressed: boolean;

  constructor(message: string, options: DatasetErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DatasetError";
    this.file = options.file;
    this.offset = options.offset;
    this.decompressed = options.decompressed ?? false;
  }
}
