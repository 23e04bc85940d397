// Copies the npm-installed front-end assets into the package's static folder, so that the
// running server never fetches anything from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "src", "vinculo", "web", "static", "vendor");

const files = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  // Drag and drop of the deals board (an ES module: the board's script imports it).
  ["sortablejs/modular/sortable.esm.js", "sortablejs/sortable.esm.js"],
  ["sortablejs/LICENSE", "sortablejs/LICENSE"],
  // The API docs page (/api/v1/docs) renders Swagger UI from these copies.
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist/LICENSE", "swagger-ui/LICENSE"],
];
for (const [source, target] of files) {
  mkdirSync(dirname(join(vendor, target)), { recursive: true });
  copyFileSync(join(root, "node_modules", source), join(vendor, target));
}
console.log(`copied ${files.length} asset(s) into ${vendor}`);
