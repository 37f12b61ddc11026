// The import rules, generated from the one written source: the `floors` block in
// docs/architecture.md. A part imports only parts on lower floors; files never import in a circle;
// the package's source never imports the repository's experiments, tests or benches.
const fs = require("node:fs");
const path = require("node:path");

const DOC = path.join(__dirname, "docs", "architecture.md");

function readFloors() {
  const text = fs.readFileSync(DOC, "utf8");
  const block = /^```floors\n([\s\S]*?)^```/m.exec(text);
  if (block === null) throw new Error(`${DOC}: no \`\`\`floors block`);
  const parts = [];
  block[1].split("\n").forEach((line, i) => {
    const t = line.replace(/#.*/, "").trim();
    if (t === "") return;
    const [floor, name, ...paths] = t.split(/\s+/);
    if (!/^\d+$/.test(floor) || name === undefined || paths.length === 0) {
      throw new Error(`${DOC}: floors block line ${i + 1}: expected "<floor> <part> <path>...", got ${JSON.stringify(line)}`);
    }
    parts.push({ floor: Number(floor), name, paths });
  });
  return parts;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// A path names a folder (every file under it) or one file.
const pattern = (paths) => `^(${paths.map((p) => escape(p) + (p.endsWith(".ts") ? "$" : "/")).join("|")})`;

const parts = readFloors();

// Every file of the package belongs to exactly one part, so no file escapes the rules.
function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.posix.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}
for (const file of sourceFiles("src")) {
  const owners = parts.filter((p) => new RegExp(pattern(p.paths)).test(file));
  if (owners.length !== 1) {
    throw new Error(`${DOC}: ${file} belongs to ${owners.length === 0 ? "no part" : owners.map((o) => o.name).join(" and ")} in the floors block`);
  }
}

const floorRules = parts.map((part) => {
  const notBelow = parts.filter((p) => p !== part && p.floor >= part.floor);
  return {
    name: `floor-${part.name}`,
    comment: `${part.name} (floor ${part.floor}) imports only parts on lower floors (docs/architecture.md, Floors)`,
    severity: "error",
    from: { path: pattern(part.paths) },
    to: { path: pattern(notBelow.flatMap((p) => p.paths)) },
  };
}).filter((rule) => rule.to.path !== "^()");

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: "no-circular",
      comment: "no file imports itself through others (docs/architecture.md, Floors)",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "package-stays-in-src",
      comment: "what ships (src/, built to dist/) never imports experiments, tests or benches",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(experiments|tests|bench|scripts)/" },
    },
  ],
  options: {
    // Type-only imports count: a part that names another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|build)/" },
  },
};
