/**
 * `npm run deploy:render`: writes every environment's Kubernetes manifests to
 * `deploy/out/<environment>/<region>.yaml` (not committed), one multi-document YAML file per
 * region, from the one definition in k8s/region.ts and the configuration in k8s/environments.ts.
 * Apply one with `kubectl apply -f deploy/out/production/eu-west.yaml` in that region's cluster.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { environments } from "./k8s/environments.ts";
import { renderRegion } from "./k8s/region.ts";

/** Renders everything into `outDir`, replacing what was there; returns the files written. */
export function renderAll(outDir: string): string[] {
  rmSync(outDir, { recursive: true, force: true });
  const written: string[] = [];
  for (const environment of environments) {
    mkdirSync(path.join(outDir, environment.name), { recursive: true });
    for (const region of environment.regions) {
      const file = path.join(outDir, environment.name, `${region.name}.yaml`);
      const header = `# Rendered by npm run deploy:render from deploy/k8s (${environment.name}, ${region.name}); do not edit.\n`;
      const documents = renderRegion(environment, region).map((manifest) =>
        // YAML 1.1, as kubectl reads it: strings such as "on" are quoted, not taken for booleans.
        stringify(manifest, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false }),
      );
      writeFileSync(file, header + documents.join("---\n"));
      written.push(file);
    }
  }
  return written;
}

if (import.meta.main) {
  const outDir = path.join(import.meta.dirname, "out");
  for (const file of renderAll(outDir)) console.log(path.relative(process.cwd(), file));
}
