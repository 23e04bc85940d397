// Copies the npm-installed front-end assets into the package's static folder, so that the
// running server never fetches anything from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "src", "vinculo", "web", "static", "vendor");
mkdirSync(vendor, { recursive: true });

const files = [["htmx.org/dist/htmx.min.js", "htmx.min.js"]];
for (const [source, target] of files) {
  copyFileSync(join(root, "node_modules", source), join(vendor, target));
}
console.log(`copied ${files.length} asset(s) into ${vendor}`);
