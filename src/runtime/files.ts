// The platform seam: everything the library reads or writes through a file system goes through
// this module. Under Node and Deno it uses node:fs; in a page or worker loaded without a bundler
// it fetches instead (the node: imports below are dynamic, so they are never loaded there).
// Bundlers that build for browsers swap this module for files.browser.ts (package.json "browser"
// field), so a browser bundle holds no node: specifier at all (docs/architecture.md, "Platforms").
import { fetchBytes } from "./fetch.js";

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/**
 * A file that ships with the package (build/aptkit.<isa>.wasm, build/digits-*.gz), given by its
 * URL relative to the calling module: read from disk under Node and Deno, fetched elsewhere.
 */
export async function readPackageFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (!isNode) return fetchBytes(url);
  const { readFile } = await import("node:fs/promises");
  try {
    return new Uint8Array(await readFile(url));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === "ENOENT" ? "; the package is incomplete (in a checkout of the repository: npm run build)" : "";
    throw new Error(`aptkit: cannot read ${decodeURIComponent(url.pathname)} (${code ?? (e as Error).message})${hint}`, { cause: e });
  }
}

// Node's modules for the parts that work on directories and files by path (dataset directories,
// checkpoints). Reaching them through here keeps every node: specifier in this one module.
export const nodeFs = (): Promise<typeof import("node:fs/promises")> => import("node:fs/promises");
export const nodePath = (): Promise<typeof import("node:path")> => import("node:path");
export const nodeZlib = (): Promise<typeof import("node:zlib")> => import("node:zlib");
export const nodeOs = (): Promise<typeof import("node:os")> => import("node:os");
/** The synchronous API, for the one place that must act inside a process "exit" handler (locks). */
export const nodeFsSync = (): Promise<typeof import("node:fs")> => import("node:fs");
