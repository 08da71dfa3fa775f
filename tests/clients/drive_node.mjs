// Drives a poolcalc node-postgres or Prisma 7 snippet (tests/clients/run.py): imports the
// snippet's exported object as the project's code would (require in a CommonJS project, import
// in an ES module one), checks one query, then starts QUERIES concurrent `pg_sleep(HOLD)`
// queries at once and prints, as one JSON line, each query's outcome and seconds from the start.
//
//   node drive_node.mjs pool FILE QUERIES HOLD         FILE exports `pool` (a pg.Pool)
//   node drive_node.mjs prisma FILE QUERIES HOLD       FILE exports `prisma` (a PrismaClient)
//   node drive_node.mjs prisma-docs - QUERIES HOLD     no snippet: Prisma 7's documented setup,
//                                                      new PrismaPg({ connectionString }), as a
//                                                      user would write it from DATABASE_URL
import { readFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [mode, file, queriesText, holdText] = process.argv.slice(2);
const queries = Number(queriesText);
const hold = Number(holdText);
const sql = `SELECT pg_sleep(${hold})`;

function message(error) {
  return String((error && (error.message || error.code)) || error).split("\n").filter(Boolean).slice(-1)[0] || "error";
}

async function load() {
  if (mode === "prisma-docs") {
    // Resolved from the project (cwd), like the snippet's own imports.
    const require = createRequire(path.join(process.cwd(), "package.json"));
    const { PrismaClient } = require("@prisma/client");
    const { PrismaPg } = require("@prisma/adapter-pg");
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }) });
    return { run: () => prisma.$executeRawUnsafe(sql), check: () => prisma.$executeRawUnsafe("SELECT 1"), close: () => prisma.$disconnect() };
  }
  // As the project's own code would: require() in a CommonJS project (package.json without
  // "type": "module") for .js and .cjs, import otherwise.
  const project = JSON.parse(readFileSync(path.join(process.cwd(), "package.json"), "utf8"));
  const commonjs = file.endsWith(".cjs") || (file.endsWith(".js") && project.type !== "module");
  const module = commonjs
    ? createRequire(path.join(process.cwd(), "package.json"))(path.resolve(file))
    : await import(pathToFileURL(path.resolve(file)).href);
  const name = mode === "pool" ? "pool" : "prisma";
  const object = module[name] ?? module.default?.[name];
  if (!object) {
    throw new Error(`${file} exports no \`${name}\` (exports: ${Object.keys(module).join(", ") || "none"})`);
  }
  if (mode === "pool") {
    return { run: () => object.query(sql), check: () => object.query("SELECT 1"), close: () => object.end() };
  }
  return { run: () => object.$executeRawUnsafe(sql), check: () => object.$executeRawUnsafe("SELECT 1"), close: () => object.$disconnect() };
}

const out = { opened: false, open_error: null, results: [] };
let client = null;
try {
  client = await load();
  await client.check();
  out.opened = true;
} catch (error) {
  out.open_error = message(error);
}
if (out.opened) {
  const start = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
  out.results = await Promise.all(
    Array.from({ length: queries }, () =>
      client.run().then(
        () => ({ ok: true, seconds: seconds(), error: null }),
        (error) => ({ ok: false, seconds: seconds(), error: message(error) })
      )
    )
  );
}
try {
  if (client) await client.close();
} catch (error) {
  out.close_error = message(error);
}
process.stdout.write(JSON.stringify(out) + "\n");
