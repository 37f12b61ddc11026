// The browser side of the platform seam (src/runtime/files.ts; package.json "browser" maps one to
// the other for bundlers): package files are fetched, and what needs a file system by path says
// so instead of pulling Node's modules into the bundle.
import { fetchBytes } from "./fetch.js";

/** A file that ships with the package, fetched from its URL. */
export async function readPackageFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  return fetchBytes(url);
}

function unavailable(what: string): Promise<never> {
  return Promise.reject(new Error(
    `aptkit: ${what} is not available in a browser build: reading dataset directories and writing checkpoint files ` +
      `need Node or Deno (in a browser, give datasets as arrays with createDataset)`,
  ));
}

export const nodeFs = (): Promise<typeof import("node:fs/promises")> => unavailable("the file system (node:fs)");
export const nodePath = (): Promise<typeof import("node:path")> => unavailable("node:path");
export const nodeZlib = (): Promise<typeof import("node:zlib")> => unavailable("node:zlib");
export const nodeOs = (): Promise<typeof import("node:os")> => unavailable("node:os");
export const nodeFsSync = (): Promise<typeof import("node:fs")> => unavailable("the file system (node:fs)");
