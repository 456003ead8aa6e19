/**
 * The Kubernetes manifests as `npm run deploy:render` writes them: every environment and region
 * present, every object valid against the Kubernetes API schemas (kubernetes-models' validators),
 * the properties a rollout without downtime relies on checked on each workload, and the network
 * model of docs/operations.md: the edge's Ingress publishes only the edge's paths, the peers'
 * only theirs on the internal controller, no Ingress reaches an admin route, and the admin port
 * is on no Service or Ingress, reachable only from the monitoring namespace.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { limits } from "../shared/limits.ts";
import { adminPaths, internalPaths } from "../shared/regions.ts";
import { replicateBodyBytesMax } from "../shared/replication.ts";
import { environments } from "./k8s/environments.ts";
import { adminPort } from "./k8s/region.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
const outDir = path.join(repoRoot, "deploy/out");
const models: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

// Manifests are read back as YAML and checked field by field.
// biome-ignore lint/suspicious/noExplicitAny: YAML read back is untyped; each field is asserted below
type Doc = any;
const rendered = new Map<string, Doc[]>();

function validate(doc: Doc): void {
  const Model = models[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion}/${doc.kind}`);
  new Model(doc as never).validate();
}

/** Every JSON path in an object, values left out: the shape two environments must share. */
function shape(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object") return [prefix];
  return Object.entries(value).flatMap(([key, child]) => shape(child, `${prefix}/${key}`));
}

beforeAll(() => {
  const node = path.join(repoRoot, "node_modules/.bin/node");
  execFileSync(node, ["deploy/render.ts"], { cwd: repoRoot });
  for (const environment of environments) {
    for (const region of environment.regions) {
      const text = readFileSync(path.join(outDir, environment.name, `${region.name}.yaml`), "utf8");
      rendered.set(
        `${environment.name}/${region.name}`,
        // As kubectl reads them (YAML 1.1): an unquoted "on" would be a boolean, and fail validation.
        parseAllDocuments(text, { version: "1.1" }).map((doc) => doc.toJS()),
      );
    }
  }
});

describe("rendered Kubernetes manifests", () => {
  it("cover development, staging and production, each with every region", () => {
    expect(environments.map((environment) => environment.name)).toEqual(["development", "staging", "production"]);
    expect(rendered.size).toBe(9);
  });

  it("are valid against the Kubernetes API schemas", () => {
    for (const docs of rendered.values()) for (const doc of docs) validate(doc);
    // The validator does reject what the API server would: a bad manifest fails.
    const [broken] = structuredClone(rendered.get("production/eu-west")?.filter((d) => d.kind === "Deployment") ?? []);
    broken.spec.replicas = "three";
    expect(() => validate(broken)).toThrow();
  });

  it("probe, roll out, budget, limit, secure and spread every workload", () => {
    for (const environment of environments) {
      for (const region of environment.regions) {
        const docs = rendered.get(`${environment.name}/${region.name}`) as Doc[];
        const byKind = (kind: string) => docs.filter((doc) => doc.kind === kind);
        const [workload] = [...byKind("Deployment"), ...byKind("StatefulSet")];
        const pod = workload.spec.template.spec;
        const [container] = pod.containers;
        const podLabels = workload.spec.template.metadata.labels;
        const selects = (selector: Record<string, string>) =>
          Object.entries(selector).every(([key, value]) => podLabels[key] === value);

        if (environment.storage === "pglite") {
          expect(workload.kind).toBe("StatefulSet");
          expect(workload.spec.replicas).toBe(1);
          expect(workload.spec.volumeClaimTemplates.map((claim: Doc) => claim.metadata.name)).toEqual(["data", "keys"]);
        } else {
          expect(workload.kind).toBe("Deployment");
          expect(workload.spec.replicas).toBeGreaterThan(1);
          expect(workload.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
          expect(container.env.find((e: Doc) => e.name === "DATABASE_URL").valueFrom.secretKeyRef.key).toBe(
            "database-url",
          );
          expect(
            container.env.find((e: Doc) => e.name === "STORMLOG_KEYSTORE_DATABASE_URL").valueFrom.secretKeyRef.key,
          ).toBe("keystore-database-url");
        }
        expect(container.readinessProbe.httpGet.path).toBe("/readyz");
        expect(container.livenessProbe.httpGet.path).toBe("/healthz");
        expect(container.resources.requests.cpu && container.resources.limits.memory).toBeTruthy();
        // A region on PGlite measured 550-710 MB resident (environments.ts): less is an OOM kill.
        if (environment.storage === "pglite")
          expect(mebibytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(1024);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(pod.topologySpreadConstraints.length).toBeGreaterThan(0);
        for (const spread of pod.topologySpreadConstraints)
          expect(selects(spread.labelSelector.matchLabels)).toBe(true);

        const [budget] = byKind("PodDisruptionBudget");
        expect(selects(budget.spec.selector.matchLabels)).toBe(true);
        const [config] = byKind("ConfigMap");
        expect(container.envFrom[0].configMapRef.name).toBe(config.metadata.name);
        expect(workload.spec.template.metadata.annotations["stormlog.dev/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
        // The grace period covers the preStop pause plus the drain bound.
        const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
        const drainMs = Number(config.data.STORMLOG_SHUTDOWN_TIMEOUT_MS);
        expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopSeconds * 1000 + drainMs);
        expect(JSON.parse(config.data.STORMLOG_PEERS).map((p: Doc) => p.name)).toEqual(
          environment.regions.filter((r) => r.name !== region.name).map((r) => r.name),
        );
        const service = byKind("Service").find((s) => s.spec.clusterIP !== "None");
        expect(selects(service.spec.selector)).toBe(true);
        expect(byKind("Ingress")[0].spec.rules[0].http.paths[0].backend.service.name).toBe(service.metadata.name);
      }
    }
  });

  it("reference secrets and never inline them", () => {
    for (const docs of rendered.values()) {
      expect(docs.some((doc) => doc.kind === "Secret")).toBe(false);
      const [config] = docs.filter((doc) => doc.kind === "ConfigMap");
      expect(Object.keys(config.data).filter((key) => /SECRET|DATABASE_URL|^STORMLOG_KEYRING$/.test(key))).toEqual([]);
      const [workload] = docs.filter((doc) => doc.kind === "Deployment" || doc.kind === "StatefulSet");
      const pod = workload.spec.template.spec;
      for (const variable of pod.containers[0].env) {
        expect(variable.value, variable.name).toBeUndefined();
        expect(variable.valueFrom.secretKeyRef.name).toBeTruthy();
      }
      expect(pod.volumes.find((v: Doc) => v.name === "keyring").secret.secretName).toBe("stormlog-keyring");
    }
  });

  it("come from one definition: environments of one storage mode differ only in values", () => {
    const workloadOf = (key: string) =>
      (rendered.get(key) as Doc[]).map((doc) => shape(doc).sort().join("\n")).join("\n---\n");
    expect(workloadOf("staging/eu-west")).toBe(workloadOf("production/ap-south"));
    expect(workloadOf("development/eu-west")).toBe(workloadOf("development/us-east"));
  });

  describe("follow the network model", () => {
    const appId = "0123456789abcdef";
    const edgeCalls = [
      "/v1/health",
      internalPaths.batches(appId),
      internalPaths.logs(appId),
      internalPaths.devices(appId),
      internalPaths.revokedKeys,
    ];
    const peerCalls = ["/readyz", internalPaths.replicate, internalPaths.syncDigests, internalPaths.syncEntries];
    const adminCalls = [
      adminPaths.apps,
      adminPaths.app(appId),
      adminPaths.appKeys(appId),
      adminPaths.revokeKey,
      adminPaths.digests,
    ];
    /** Kubernetes' rule: Exact is the whole path; Prefix matches whole path elements. */
    const reaches = (ingress: Doc, path: string) =>
      ingress.spec.rules.some((rule: Doc) =>
        rule.http.paths.some((rule: Doc) =>
          rule.pathType === "Exact"
            ? rule.path === path
            : rule.pathType === "Prefix" && (path === rule.path || path.startsWith(`${rule.path.replace(/\/$/, "")}/`)),
        ),
      );
    const each = (check: (docs: Doc[], environment: (typeof environments)[number]) => void) => {
      for (const environment of environments)
        for (const region of environment.regions)
          check(rendered.get(`${environment.name}/${region.name}`) as Doc[], environment);
    };

    it("publish the edge's paths through the public, client-certificate Ingress, and nothing else", () => {
      each((docs, environment) => {
        const ingresses = docs.filter((doc) => doc.kind === "Ingress");
        expect(ingresses.map((doc) => doc.spec.ingressClassName).sort()).toEqual(
          [environment.ingressClass, environment.peerIngressClass].sort(),
        );
        const edge = ingresses.find((doc) => doc.spec.ingressClassName === environment.ingressClass);
        for (const path of edgeCalls) expect(reaches(edge, path), path).toBe(true);
        for (const path of [...peerCalls, ...adminCalls]) expect(reaches(edge, path), path).toBe(false);
        expect(edge.metadata.annotations).toMatchObject({
          "nginx.ingress.kubernetes.io/auth-tls-verify-client": "on",
          "nginx.ingress.kubernetes.io/auth-tls-secret": `${edge.metadata.namespace}/stormlog-origin-pull-ca`,
        });
        expect(
          Number.parseInt(edge.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"], 10),
        ).toBeGreaterThan(limits.inflatedBytesMax / (1024 * 1024));
      });
    });

    it("publish the peers' paths on the internal Ingress only, to the peers' ranges", () => {
      each((docs, environment) => {
        const peers = docs.find(
          (doc) => doc.kind === "Ingress" && doc.spec.ingressClassName === environment.peerIngressClass,
        );
        for (const path of peerCalls) expect(reaches(peers, path), path).toBe(true);
        for (const path of [...edgeCalls, ...adminCalls]) expect(reaches(peers, path), path).toBe(false);
        expect(peers.metadata.annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]).toBe(
          environment.peerSourceRanges.join(","),
        );
        expect(
          Number.parseInt(peers.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"], 10),
        ).toBeGreaterThan(replicateBodyBytesMax / (1024 * 1024));
        const [config] = docs.filter((doc) => doc.kind === "ConfigMap");
        const peerHosts = JSON.parse(config.data.STORMLOG_PEERS).map((peer: Doc) => new URL(peer.url).hostname);
        expect(peerHosts.every((host: string) => host.includes(".peers."))).toBe(true);
      });
    });

    it("keep the admin port off every Service and Ingress; Prometheus scrapes it by the pod's address", () => {
      each((docs) => {
        const [config] = docs.filter((doc) => doc.kind === "ConfigMap");
        expect(config.data).toMatchObject({ STORMLOG_ADMIN_HOST: "0.0.0.0", STORMLOG_ADMIN_PORT: String(adminPort) });
        const [workload] = docs.filter((doc) => doc.kind === "Deployment" || doc.kind === "StatefulSet");
        const [container] = workload.spec.template.spec.containers;
        expect(container.ports).toContainEqual({ name: "admin", containerPort: adminPort });
        expect(workload.spec.template.metadata.annotations).toMatchObject({
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(adminPort),
          "prometheus.io/path": "/metrics",
        });
        for (const service of docs.filter((doc) => doc.kind === "Service")) {
          expect(service.spec.type ?? "ClusterIP").toBe("ClusterIP");
          for (const servicePort of service.spec.ports) {
            expect([servicePort.port, servicePort.targetPort]).not.toContain(adminPort);
            expect(servicePort.targetPort).toBe("http");
          }
        }
        for (const ingress of docs.filter((doc) => doc.kind === "Ingress"))
          for (const rule of ingress.spec.rules)
            for (const path of rule.http.paths) expect(path.backend.service.port).toEqual({ name: "http" });
      });
    });

    it("take connections only from the two ingress controllers on the main port, and from monitoring on the admin port", () => {
      each((docs, environment) => {
        const [policy] = docs.filter((doc) => doc.kind === "NetworkPolicy");
        const [workload] = docs.filter((doc) => doc.kind === "Deployment" || doc.kind === "StatefulSet");
        const podLabels = workload.spec.template.metadata.labels;
        expect(Object.entries(policy.spec.podSelector.matchLabels).every(([k, v]) => podLabels[k] === v)).toBe(true);
        expect(policy.spec.policyTypes).toEqual(["Ingress"]);
        expect(policy.spec.ingress).toEqual([
          {
            from: environment.ingressNamespaces.map((namespace) => ({
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
            })),
            ports: [{ protocol: "TCP", port: "http" }],
          },
          {
            from: environment.monitoringNamespaces.map((namespace) => ({
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
            })),
            ports: [{ protocol: "TCP", port: "admin" }],
          },
        ]);
      });
    });

    it("sign with one secret per caller role, each from the region's Secret", () => {
      each((docs) => {
        const [workload] = docs.filter((doc) => doc.kind === "Deployment" || doc.kind === "StatefulSet");
        const env = workload.spec.template.spec.containers[0].env as Doc[];
        const secretKey = (name: string) => env.find((variable) => variable.name === name)?.valueFrom.secretKeyRef.key;
        expect(secretKey("STORMLOG_EDGE_SECRET")).toBe("edge-secret");
        expect(secretKey("STORMLOG_PEER_SECRET")).toBe("peer-secret");
        expect(secretKey("STORMLOG_ADMIN_SECRET")).toBe("admin-secret");
        expect(env.map((variable) => variable.name)).not.toContain("STORMLOG_REGION_SECRET");
      });
    });
  });
});

/** A Kubernetes memory quantity in binary units ("768Mi", "1Gi") as MiB. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`memory quantity ${quantity}: expected Mi or Gi`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}
