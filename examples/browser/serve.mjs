#!/usr/bin/env node
// A tiny static file server for the browser example: serves the repository root (so the page can
// import dist/ and fetch build/*.wasm) on 127.0.0.1. GET and HEAD only; nothing outside the root.
//
//   node examples/browser/serve.mjs [port]     then open http://127.0.0.1:<port>/examples/browser/
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json", ".wasm": "application/wasm", ".svg": "image/svg+xml", ".css": "text/css",
  ".map": "application/json", ".bin": "application/octet-stream",
};

/** Starts serving `root` on 127.0.0.1 (port 0: any free port); resolves to { server, url }. */
export function serve(root = ROOT, port = 0) {
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      let file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
      if (file !== root && !file.startsWith(root + path.sep)) {
        res.writeHead(403).end();
        return;
      }
      if ((await stat(file)).isDirectory()) file = path.join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "content-length": body.length,
        "cache-control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address();
      resolve({ server, url: `http://127.0.0.1:${actual}` });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await serve(ROOT, Number(process.argv[2] ?? 8080));
  console.log(`serving ${ROOT} at ${url}/ : open ${url}/examples/browser/`);
}
