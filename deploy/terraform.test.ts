/**
 * The Terraform in deploy/terraform/ parses (HCL, through @cdktf/hcl2json, the parser cdktf
 * uses) and holds together without a `terraform` binary or a cloud account: every `var.`,
 * `local.` and `module.` reference is declared, every module call passes exactly the variables
 * its module declares (all the required ones), and the example variables file sets every
 * root variable that has no default and is not a secret.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "@cdktf/hcl2json";
import { describe, expect, it } from "vitest";

const root = path.join(import.meta.dirname, "terraform");

type Block = Record<string, unknown>;
type Hcl = {
  variable?: Record<string, Block[]>;
  locals?: Block[];
  module?: Record<string, Block[]>;
  output?: Record<string, Block[]>;
  resource?: Record<string, Record<string, Block[]>>;
};
type Dir = { files: Map<string, Hcl>; variables: Map<string, Block>; locals: Set<string>; outputs: Set<string> };

async function loadDir(dir: string, extra: Record<string, string> = {}): Promise<Dir> {
  const files = new Map<string, Hcl>();
  const sources = Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name.endsWith(".tf"))
      .map((name) => [name, readFileSync(path.join(dir, name), "utf8")]),
  );
  for (const [name, text] of Object.entries({ ...sources, ...extra }))
    files.set(name, (await parse(name, text)) as Hcl);
  const result: Dir = { files, variables: new Map(), locals: new Set(), outputs: new Set() };
  for (const hcl of files.values()) {
    for (const [name, [block]] of Object.entries(hcl.variable ?? {})) result.variables.set(name, block ?? {});
    for (const block of hcl.locals ?? []) for (const name of Object.keys(block)) result.locals.add(name);
    for (const name of Object.keys(hcl.output ?? {})) result.outputs.add(name);
  }
  return result;
}

/** What is referenced but not declared, as readable problems; empty when the folder holds together. */
async function problems(dir: string, extra: Record<string, string> = {}): Promise<string[]> {
  const found: string[] = [];
  const loaded = await loadDir(dir, extra);
  const modules = new Map<string, { call: Block; dir: Dir }>();
  for (const hcl of loaded.files.values()) {
    for (const [name, [call = {}]] of Object.entries(hcl.module ?? {})) {
      const source = path.join(dir, String(call.source));
      if (!existsSync(source)) {
        found.push(`module ${name}: no folder ${call.source}`);
        continue;
      }
      modules.set(name, { call, dir: await loadDir(source) });
    }
  }
  for (const [file, hcl] of loaded.files) {
    const text = JSON.stringify(hcl);
    for (const [, name] of text.matchAll(/\bvar\.([A-Za-z_][\w-]*)/g)) {
      if (!loaded.variables.has(name as string)) found.push(`${file}: var.${name} is not declared`);
    }
    for (const [, name] of text.matchAll(/\blocal\.([A-Za-z_][\w-]*)/g)) {
      if (!loaded.locals.has(name as string)) found.push(`${file}: local.${name} is not declared`);
    }
    for (const [, name, output] of text.matchAll(/\bmodule\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)/g)) {
      const module = modules.get(name as string);
      if (!module) found.push(`${file}: module.${name} is not declared`);
      else if (!module.dir.outputs.has(output as string)) found.push(`${file}: module.${name} has no output ${output}`);
    }
  }
  const meta = new Set(["source", "version", "providers", "count", "for_each", "depends_on"]);
  for (const [name, { call, dir: module }] of modules) {
    const passed = Object.keys(call).filter((key) => !meta.has(key));
    for (const key of passed) if (!module.variables.has(key)) found.push(`module ${name}: ${key} is not a variable`);
    for (const [key, block] of module.variables) {
      if (!("default" in block) && !passed.includes(key)) found.push(`module ${name}: required ${key} not passed`);
    }
    found.push(...(await problems(path.join(dir, String(call.source)))).map((p) => `module ${name}: ${p}`));
  }
  return [...new Set(found)];
}

describe("Terraform", () => {
  it("parses, and every reference and module variable is declared", async () => {
    const loaded = await loadDir(root);
    expect(loaded.files.size).toBeGreaterThanOrEqual(4);
    expect(await problems(root)).toEqual([]);
  });

  it("has one region module per region, each with its name, location and size", async () => {
    const loaded = await loadDir(root);
    const calls = [...loaded.files.values()].flatMap((hcl) => Object.values(hcl.module ?? {}).map(([call]) => call));
    expect(calls.map((call) => call?.region_name).sort()).toEqual(["ap-south", "eu-west", "us-east"]);
    for (const call of calls) expect(Object.keys(call ?? {})).toEqual(expect.arrayContaining(["location", "size"]));
    const resources = Object.keys(
      (await loadDir(path.join(root, "modules/region"))).files.get("main.tf")?.resource ?? {},
    );
    expect(resources).toEqual(expect.arrayContaining(["kubernetes_namespace_v1", "aws_db_instance"]));
  });

  it("catches what it checks: an undeclared variable and a wrong module argument", async () => {
    const broken = {
      "broken.tf":
        'output "x" { value = var.not_declared }\nmodule "m" {\n  source = "./modules/region"\n  colour = "red"\n}\n',
    };
    const found = await problems(root, broken);
    expect(found).toContain("broken.tf: var.not_declared is not declared");
    expect(found).toContain("module m: colour is not a variable");
    expect(found).toContain("module m: required region_name not passed");
  });

  it("the example variables file sets every root variable without a default, secrets aside", async () => {
    const example = (await parse(
      "terraform.tfvars",
      readFileSync(path.join(root, "terraform.tfvars.example"), "utf8"),
    )) as Record<string, unknown>;
    const loaded = await loadDir(root);
    for (const [name, block] of loaded.variables) {
      if ("default" in block || block.sensitive === true) continue;
      expect(example, name).toHaveProperty(name);
    }
  });

  it("follows the network model: a secret per caller role, region names only through Cloudflare with our client certificate", async () => {
    const loaded = await loadDir(root);
    for (const name of ["edge_secret", "peer_secret", "admin_secret", "origin_pull_private_key"]) {
      expect(loaded.variables.get(name)?.sensitive, name).toBe(true);
    }
    expect([...loaded.variables.keys()].filter((name) => /region_secret/.test(name))).toEqual([]);
    const resources = (file: string) => loaded.files.get(file)?.resource ?? {};
    const [record] = resources("edge.tf").cloudflare_dns_record?.region ?? [];
    expect(record?.proxied).toBe(true);
    expect(String(record?.name)).toContain("var.regions_domain");
    // Nothing else in the zone names a region: no public name for the peers' or the admin listener.
    expect(Object.keys(resources("edge.tf").cloudflare_dns_record ?? {}).sort()).toEqual(["ingest", "region"]);
    const [pulls] = resources("edge.tf").cloudflare_authenticated_origin_pulls?.regions ?? [];
    expect(JSON.stringify(pulls?.config)).toContain("var.regions_domain");
    expect(JSON.stringify(pulls?.config)).toContain(
      "cloudflare_authenticated_origin_pulls_hostname_certificate.regions.id",
    );

    const module = await loadDir(path.join(root, "modules/region"));
    const moduleResources = module.files.get("main.tf")?.resource ?? {};
    const [secret] = moduleResources.kubernetes_secret_v1?.region ?? [];
    expect(Object.keys((secret?.data ?? {}) as Block).sort()).toEqual([
      "admin-secret",
      "database-url",
      "edge-secret",
      "keystore-database-url",
      "peer-secret",
    ]);
    const [ca] = moduleResources.kubernetes_secret_v1?.origin_pull_ca ?? [];
    expect(JSON.stringify(ca)).toContain("stormlog-origin-pull-ca");
  });
});
