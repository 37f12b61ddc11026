// README.md's code blocks as tests see them. Every fenced block is preceded by an HTML comment
// that says what it is:
//
//   <!-- example FILE: RUNNER -->   saved as FILE in an app that installed the package, run by RUNNER
//                                   ("node", "sh", a command line, or an esbuild line for a browser
//                                   bundle); its `// prints: X` / `# prints: X` comments are the
//                                   lines it must print, in order ("…" stands for any text)
//   <!-- install: ... -->           the install line (the package test installs the packed tarball)
//   <!-- repository: ... -->        commands for a checkout of the repository, not the package
//
// so a new block cannot go unchecked by accident: an unmarked block fails the package test.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  kind: "example" | "install" | "repository" | null;
  /** For examples: the file name and how it is run. */
  file?: string;
  runner?: string;
}

const MARKER = /^<!--\s*(example|install|repository)\b\s*(.*?)\s*-->$/;

export function readmeBlocks(text = readFileSync(path.join(ROOT, "README.md"), "utf8")): ReadmeBlock[] {
  const lines = text.split("\n");
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: code block never closed`);
    const block: ReadmeBlock = { line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join("\n") + "\n", kind: null };
    const marker = MARKER.exec((lines[i - 1] ?? "").trim());
    if (marker) {
      block.kind = marker[1] as ReadmeBlock["kind"];
      if (block.kind === "example") {
        const m = /^(\S+):\s*(.+)$/.exec(marker[2]);
        if (!m) throw new Error(`README.md:${i}: an example marker reads <!-- example FILE: RUNNER -->, got ${JSON.stringify(lines[i - 1])}`);
        [, block.file, block.runner] = m;
      }
    }
    blocks.push(block);
    i = end;
  }
  return blocks;
}

/** The lines a block says it prints, from its `prints:` comments, in order. */
export function expectedLines(block: ReadmeBlock): string[] {
  const out: string[] = [];
  for (const line of block.code.split("\n")) {
    const m = /(?:\/\/|#).*?\bprints: (.*)$/.exec(line);
    if (m) out.push(m[1].trimEnd());
  }
  return out;
}

function pattern(expected: string): RegExp {
  const parts = expected.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`);
}

/**
 * Compares what a block printed with its `prints:` comments. `exact`: the output is those lines
 * and nothing else; otherwise they appear in order among other lines (a command's progress).
 * Returns a description of the mismatch, or null.
 */
export function outputMismatch(block: ReadmeBlock, stdout: string, exact: boolean): string | null {
  const expected = expectedLines(block);
  const got = stdout.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
  if (exact) {
    const ok = got.length === expected.length && expected.every((e, k) => pattern(e).test(got[k]));
    return ok ? null : `expected exactly:\n  ${expected.join("\n  ")}\ngot:\n  ${got.join("\n  ")}`;
  }
  let at = 0;
  for (const e of expected) {
    const re = pattern(e);
    while (at < got.length && !re.test(got[at])) at++;
    if (at === got.length) return `expected a line ${JSON.stringify(e)} (after the previous ones) in:\n  ${got.join("\n  ")}`;
    at++;
  }
  return null;
}

/** The README example whose file is `file`. */
export function readmeExample(file: string): ReadmeBlock {
  const block = readmeBlocks().find((b) => b.kind === "example" && b.file === file);
  if (!block) throw new Error(`README.md has no <!-- example ${file}: ... --> block`);
  return block;
}
