/**
 * The configuration of every environment and region: the only place development, staging and
 * production differ. `region.ts` turns one (environment, region) pair into Kubernetes objects,
 * and `../render.ts` writes them out. Secrets are never here: only the names of the Kubernetes
 * Secrets that hold them (created by the operator or Terraform, see docs/operations.md).
 */

export type Storage = "pglite" | "postgres";

export type Resources = { cpu: string; memory: string; cpuLimit: string; memoryLimit: string };

export type RegionSpec = {
  name: string;
  /** Public URL the edge reaches this region at (through Cloudflare, see network.ts). */
  url: string;
  /** URL on the private network between regions, where the peers reach it (STORMLOG_PEERS). */
  peerUrl: string;
};

export type Environment = {
  name: "development" | "staging" | "production";
  /** Image reference without tag; the tag is the version rolled out. */
  image: string;
  imageTag: string;
  /** PGlite: one pod with a persistent volume. PostgreSQL: a scalable Deployment. */
  storage: Storage;
  /** Pods per region (forced to 1 for PGlite). */
  replicas: number;
  /** The PGlite volume's size. */
  volumeSize: string;
  resources: Resources;
  logLevel: "info" | "debug" | "warn";
  /** How long a stopping pod waits for calls in flight (STORMLOG_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /** Lets endpoints and the edge forget a terminating pod before it stops listening. */
  preStopSleepSeconds: number;
  /** Spread pods over nodes strictly (DoNotSchedule) or only when the cluster allows it. */
  strictSpread: boolean;
  /** The public ingress controller, which the edge reaches through Cloudflare. */
  ingressClass: string;
  /** The internal ingress controller, on the private network between regions. */
  peerIngressClass: string;
  /** Where peers' calls come from (the other regions' egress ranges on that network). */
  peerSourceRanges: string[];
  /** The namespaces of both controllers: the only sources the pods accept connections from. */
  ingressNamespaces: string[];
  /** Where Prometheus runs: the only source the admin port (and its /metrics) accepts. */
  monitoringNamespaces: string[];
  regions: RegionSpec[];
};

const image = "ghcr.io/stormlog/stormlog-regional";

function regions(domain: string): RegionSpec[] {
  return ["eu-west", "us-east", "ap-south"].map((name) => ({
    name,
    url: `https://${name}.${domain}`,
    peerUrl: `https://${name}.peers.${domain}`,
  }));
}

/** Both ingress controllers, as their charts install them. */
const ingressNamespaces = ["ingress-nginx", "ingress-nginx-internal"];

/** kube-prometheus-stack's default namespace. */
const monitoringNamespaces = ["monitoring"];

export const environments: Environment[] = [
  {
    name: "development",
    image,
    imageTag: "main",
    storage: "pglite",
    replicas: 1,
    volumeSize: "5Gi",
    // PGlite holds both databases in the region's own memory: a region restarted on its data
    // measured 550-570 MB resident at idle and 600-710 MB after a minute of load (each database's
    // WebAssembly memory, 128 MB of shared buffers in the data one, filling as it is used).
    resources: { cpu: "100m", memory: "768Mi", cpuLimit: "500m", memoryLimit: "1Gi" },
    logLevel: "debug",
    shutdownTimeoutMs: 10_000,
    preStopSleepSeconds: 3,
    strictSpread: false,
    ingressClass: "nginx",
    peerIngressClass: "nginx-internal",
    peerSourceRanges: ["10.0.0.0/8"],
    ingressNamespaces,
    monitoringNamespaces,
    regions: regions("regions.dev.stormlog.example"),
  },
  {
    name: "staging",
    image,
    imageTag: "0.1.0",
    storage: "postgres",
    replicas: 2,
    volumeSize: "0",
    resources: { cpu: "250m", memory: "384Mi", cpuLimit: "1", memoryLimit: "768Mi" },
    logLevel: "info",
    shutdownTimeoutMs: 20_000,
    preStopSleepSeconds: 5,
    strictSpread: false,
    ingressClass: "nginx",
    peerIngressClass: "nginx-internal",
    peerSourceRanges: ["10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16"],
    ingressNamespaces,
    monitoringNamespaces,
    regions: regions("regions.staging.stormlog.example"),
  },
  {
    name: "production",
    image,
    imageTag: "0.1.0",
    storage: "postgres",
    replicas: 3,
    volumeSize: "0",
    resources: { cpu: "500m", memory: "512Mi", cpuLimit: "2", memoryLimit: "1Gi" },
    logLevel: "info",
    shutdownTimeoutMs: 20_000,
    preStopSleepSeconds: 5,
    strictSpread: true,
    ingressClass: "nginx",
    peerIngressClass: "nginx-internal",
    peerSourceRanges: ["10.110.0.0/16", "10.120.0.0/16", "10.130.0.0/16"],
    ingressNamespaces,
    monitoringNamespaces,
    regions: regions("regions.stormlog.example"),
  },
];
