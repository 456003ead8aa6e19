/**
 * The one definition of a regional worker on Kubernetes: given an environment and one of its
 * regions (environments.ts), the objects to apply in that region's cluster. Only configuration
 * differs between environments; the shape (probes, rollout, disruption budget, security,
 * spreading, how secrets are referenced) is the same everywhere.
 *
 * PGlite keeps its database in the pod's volume, so such a region is a StatefulSet of one pod
 * with a PersistentVolumeClaim; a PostgreSQL region is a Deployment that scales and rolls with
 * `maxUnavailable: 0`. Secrets are referenced by name, never rendered: `stormlog-<region>`
 * (keys `edge-secret`, `peer-secret`, `admin-secret`, `database-url`), `stormlog-keyring` (key
 * `keyring.json`) and, for the edge's Ingress, `stormlog-origin-pull-ca`. How the region is
 * reached (and how it is not) is network.ts.
 */
import { createHash } from "node:crypto";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IService } from "kubernetes-models/v1/Service";
import type { ITopologySpreadConstraint } from "kubernetes-models/v1/TopologySpreadConstraint";
import type { Environment, RegionSpec } from "./environments.ts";
import { edgeIngress, networkPolicy, peerIngress } from "./network.ts";
import { disruptionBudget, workload } from "./workload.ts";

export type Manifest =
  | IConfigMap
  | IService
  | IDeployment
  | IStatefulSet
  | IPodDisruptionBudget
  | IIngress
  | INetworkPolicy;

export const port = 8700;
/**
 * The admin listener: on no Service or Ingress; `kubectl port-forward` reaches it, and Prometheus
 * in the monitoring namespace scrapes its `/metrics` (network.ts admits nothing else to it).
 */
export const adminPort = 8710;
export const keyringPath = "/etc/stormlog/keyring";

export function namespaceOf(environment: Environment): string {
  return `stormlog-${environment.name}`;
}

export function renderRegion(environment: Environment, region: RegionSpec): Manifest[] {
  const name = `stormlog-${region.name}`;
  const namespace = namespaceOf(environment);
  const labels = { "app.kubernetes.io/name": "stormlog-regional", "stormlog.dev/region": region.name };
  const meta = { name, namespace, labels: { ...labels, "app.kubernetes.io/part-of": "stormlog" } };
  const peers = environment.regions.filter((peer) => peer.name !== region.name);

  const config: IConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta,
    data: {
      STORMLOG_REGION: region.name,
      STORMLOG_PEERS: JSON.stringify(peers.map((peer) => ({ name: peer.name, url: peer.peerUrl }))),
      // On the pod's address so Prometheus can scrape /metrics; every admin route still needs the
      // admin secret's signature for this region.
      STORMLOG_ADMIN_HOST: "0.0.0.0",
      STORMLOG_ADMIN_PORT: String(adminPort),
      STORMLOG_LOG_LEVEL: environment.logLevel,
      STORMLOG_SHUTDOWN_TIMEOUT_MS: String(environment.shutdownTimeoutMs),
      STORMLOG_KEYRING_FILE: `${keyringPath}/keyring.json`,
    },
  };
  const service: IService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  };

  const secretEnv = (["edge", "peer", "admin"] as const).map((role) => ({
    name: `STORMLOG_${role.toUpperCase()}_SECRET`,
    valueFrom: { secretKeyRef: { name, key: `${role}-secret` } },
  }));
  if (environment.storage === "postgres") {
    secretEnv.push({ name: "DATABASE_URL", valueFrom: { secretKeyRef: { name, key: "database-url" } } });
    // The key store is a database of its own, never the batch data's (regional/keystore/).
    secretEnv.push({
      name: "STORMLOG_KEYSTORE_DATABASE_URL",
      valueFrom: { secretKeyRef: { name, key: "keystore-database-url" } },
    });
  }
  const httpProbe = (path: string) => ({ httpGet: { path, port: "http" } });
  const container: IContainer = {
    name: "regional",
    image: `${environment.image}:${environment.imageTag}`,
    ports: [
      { name: "http", containerPort: port },
      { name: "admin", containerPort: adminPort },
    ],
    envFrom: [{ configMapRef: { name } }],
    env: secretEnv,
    // Migrations run before the server listens: give the first start time, then probe often.
    startupProbe: { ...httpProbe("/healthz"), periodSeconds: 2, failureThreshold: 60 },
    readinessProbe: { ...httpProbe("/readyz"), periodSeconds: 2, failureThreshold: 1, timeoutSeconds: 2 },
    livenessProbe: { ...httpProbe("/healthz"), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
    // Endpoints and ingresses learn of a terminating pod asynchronously; keep serving meanwhile.
    lifecycle: { preStop: { exec: { command: ["sleep", String(environment.preStopSleepSeconds)] } } },
    resources: {
      requests: { cpu: environment.resources.cpu, memory: environment.resources.memory },
      limits: { cpu: environment.resources.cpuLimit, memory: environment.resources.memoryLimit },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: "data", mountPath: "/data" },
      { name: "keys", mountPath: "/keys" },
      { name: "tmp", mountPath: "/tmp" },
      { name: "keyring", mountPath: keyringPath, readOnly: true },
    ],
  };
  const spread = (topologyKey: string, strict: boolean): ITopologySpreadConstraint => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: strict ? "DoNotSchedule" : "ScheduleAnyway",
    labelSelector: { matchLabels: labels },
  });
  const pod: IPodSpec = {
    // preStop, then the drain bound, then a margin for closing the database.
    terminationGracePeriodSeconds:
      environment.preStopSleepSeconds + Math.ceil(environment.shutdownTimeoutMs / 1000) + 10,
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    topologySpreadConstraints: [
      spread("topology.kubernetes.io/zone", false),
      spread("kubernetes.io/hostname", environment.strictSpread),
    ],
    containers: [container],
    volumes: [
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
      { name: "keyring", secret: { secretName: "stormlog-keyring", defaultMode: 0o440 } },
      // PostgreSQL mode stores nothing locally; PGlite's volumes (batch data, key store) come from
      // the claim templates.
      ...(environment.storage === "postgres"
        ? [
            { name: "data", emptyDir: { sizeLimit: "16Mi" } },
            { name: "keys", emptyDir: { sizeLimit: "16Mi" } },
          ]
        : []),
    ],
  };
  // The ConfigMap is read at start-up: a change of it must roll the pods, so its hash is in the template.
  const configHash = createHash("sha256").update(JSON.stringify(config.data)).digest("hex").slice(0, 16);
  const annotations = {
    "stormlog.dev/config-hash": configHash,
    // The Prometheus convention most scrape configs (and kube-prometheus-stack's pod monitors) follow.
    "prometheus.io/scrape": "true",
    "prometheus.io/port": String(adminPort),
    "prometheus.io/path": "/metrics",
  };
  const manifests: Manifest[] = [config, service, ...workload(environment, meta, labels, annotations, pod)];
  manifests.push(
    disruptionBudget(environment, meta, labels),
    edgeIngress(environment, region, meta),
    peerIngress(environment, region, meta),
    networkPolicy(environment, meta, labels),
  );
  return manifests;
}
