// Bundles the console's script (committed at web/dist/console.js; the keeper embeds it) and,
// for the tests, the client as a Node module. `--check` fails when the committed bundle is not
// what the sources build to.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
// the IDL without its doc comments: a third of its size, nothing the coder reads
const idlWithoutDocs = {
  name: "idl-without-docs",
  setup(b) {
    b.onLoad({ filter: /agentrail\.json$/ }, (args) => {
      const strip = (v) =>
        Array.isArray(v) ? v.map(strip) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== "docs").map(([k, x]) => [k, strip(x)])) : v;
      return { contents: JSON.stringify(strip(JSON.parse(readFileSync(args.path, "utf8")))), loader: "json" };
    });
  },
};
const browser = {
  entryPoints: [`${here}console/main.ts`],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "none",
  inject: [`${here}console/shims.js`],
  define: { "process.env.ANCHOR_BROWSER": '"true"', global: "globalThis" },
  logLevel: "warning",
  plugins: [idlWithoutDocs],
};
const args = process.argv.slice(2);
if (args.includes("--check")) {
  const out = await build({ ...browser, write: false, outfile: "console.js" });
  const built = out.outputFiles[0].text;
  const committed = readFileSync(`${here}dist/console.js`, "utf8");
  if (built !== committed) {
    console.error("web/dist/console.js is not what web/ builds to: run `npm --prefix web run build` and commit it");
    process.exit(1);
  }
  console.log("web/dist/console.js is current");
} else if (args.includes("--test-bundle")) {
  await build({
    entryPoints: [`${here}client/index.ts`],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    outfile: `${here}build/client.mjs`,
    plugins: [idlWithoutDocs],
    logLevel: "warning",
  });
} else {
  await build({ ...browser, outfile: `${here}dist/console.js` });
  console.log("built web/dist/console.js");
}
