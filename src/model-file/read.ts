// Reading a model file from a path a user named, bounded (docs/model-file.md, docs/reliability.md):
// regular files and pipes only, no larger than a model that can load, and never past the length
// its header declares.
import { readUserFile, type ReadUserFileOptions } from "../io/read.js";
import { HEADER, MAGIC, ModelFileError } from "./codec.js";
import { DEFAULT_MAX_MEMORY_BYTES } from "./load.js";

/**
 * The default limit on a model file's size. A loaded model's weights live in its engine memory,
 * reserved at least as wide as the file stores them, and that memory is capped at
 * DEFAULT_MAX_MEMORY_BYTES by default; besides weights and biases a file holds at most a 1 MiB
 * definition, 1,024 records with names of up to 1 KiB, headers and a checksum. So a larger file
 * cannot load under the default cap anyway: it is refused before it is read.
 */
export const MODEL_FILE_MAX_BYTES = DEFAULT_MAX_MEMORY_BYTES + 4 * 2 ** 20;

/** The model file's own length field, checked before the body is read. The magic number is checked
 *  first: a stream of anything else is refused after 8 bytes, not after the limit. */
export const MODEL_FILE_LENGTH = {
  headerBytes: HEADER.fileLength + 4,
  length(head: Uint8Array): number | undefined {
    for (let i = 0; i < Math.min(head.length, MAGIC.length); i++) {
      if (head[i] !== MAGIC[i]) throw new ModelFileError("magic", i, `expected "APTKITM\\0" (41 50 54 4b 49 54 4d 00), this is not an aptkit model file`);
    }
    if (head.length < HEADER.fileLength + 4) return undefined;
    return new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(HEADER.fileLength, true);
  },
};

/**
 * The bytes of the model file at `path` (then decodeModelFile / loadModel them). Throws
 * InputFileError (APTKIT_INPUT_FILE) for a path that is not a regular file or a pipe, or is larger
 * than `maxBytes` (default MODEL_FILE_MAX_BYTES) or declares so in its header; ModelFileError for a
 * file that does not start with the model file's magic number.
 */
export function readModelFile(path: string, options: Partial<Omit<ReadUserFileOptions, "declared">> = {}): Promise<Uint8Array> {
  return readUserFile(path, { what: "model file", maxBytes: MODEL_FILE_MAX_BYTES, ...options, declared: MODEL_FILE_LENGTH });
}
