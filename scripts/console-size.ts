/**
 * `npm run console:size`: the console's JavaScript as a browser downloads it, min+gzip (gzip -9),
 * summed over console/dist/assets/*.js. The budget is 150 KB; over it, this exits 1.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const budgetBytes = 150 * 1024;
const assets = path.resolve(import.meta.dirname, "../console/dist/assets");
let total = 0;
for (const file of readdirSync(assets).filter((name) => name.endsWith(".js"))) {
  const bytes = gzipSync(readFileSync(path.join(assets, file)), { level: 9 }).length;
  console.log(`${file}  ${bytes} bytes gzipped`);
  total += bytes;
}
console.log(`${total}`);
if (total > budgetBytes) {
  console.error(`over the ${budgetBytes}-byte budget`);
  process.exit(1);
}
