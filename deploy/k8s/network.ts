/**
 * How a region is reached, as docs/operations.md ("Network model") describes it, in Kubernetes
 * objects:
 *
 * - the edge's Ingress (public ingress class): the region's public name, proxied by Cloudflare,
 *   which presents the client certificate of authenticated origin pulls; the controller refuses a
 *   connection without it. Only the edge's paths are published: its calls and the health probe.
 * - the peers' Ingress (an internal ingress class, whose load balancer sits on the private network
 *   between the regions, and only for the peers' address ranges): replicate, sync and readiness.
 * - a NetworkPolicy: the pods take connections only from those two controllers, on the main port,
 *   and from the monitoring namespace, on the admin port (Prometheus scraping /metrics).
 *
 * The admin listener appears in no Service or Ingress: operators reach it with `kubectl
 * port-forward`, Prometheus by the pod's address; its admin routes still need the admin secret.
 */
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { limits } from "../../shared/limits.ts";
import { internalPaths } from "../../shared/regions.ts";
import { replicateBodyBytesMax } from "../../shared/replication.ts";
import type { Environment, RegionSpec } from "./environments.ts";

type Meta = { name: string; namespace: string; labels: Record<string, string> };
export type PublishedPath = { path: string; pathType: "Exact" | "Prefix" };

/** What the edge calls: uploads, reads and the revocation list (signed as `edge`), and the probe. */
export const edgePaths: PublishedPath[] = [
  { path: "/v1/health", pathType: "Exact" },
  // `/internal/v1/apps/<appId>/batches|logs|devices`: on the main port, nothing else lives there.
  { path: "/internal/v1/apps", pathType: "Prefix" },
  { path: internalPaths.revokedKeys, pathType: "Exact" },
];

/** What peers call: replication and anti-entropy (signed as `peer`), and the readiness probe. */
export const peerPaths: PublishedPath[] = [
  { path: "/readyz", pathType: "Exact" },
  { path: internalPaths.replicate, pathType: "Exact" },
  { path: "/internal/v1/sync", pathType: "Prefix" },
];

/** nginx's default body limit is 1 MiB: each Ingress lets through what its routes accept, no more. */
function bodySize(bytesMax: number): string {
  return `${Math.ceil(bytesMax / (1024 * 1024)) + 1}m`;
}

export function edgeIngress(environment: Environment, region: RegionSpec, meta: Meta): IIngress {
  return ingress(meta, `${meta.name}-edge`, environment.ingressClass, new URL(region.url).hostname, edgePaths, {
    // Authenticated origin pulls: Cloudflare presents our per-hostname certificate, issued by this CA.
    "nginx.ingress.kubernetes.io/auth-tls-verify-client": "on",
    "nginx.ingress.kubernetes.io/auth-tls-secret": `${meta.namespace}/stormlog-origin-pull-ca`,
    "nginx.ingress.kubernetes.io/auth-tls-verify-depth": "1",
    "nginx.ingress.kubernetes.io/proxy-body-size": bodySize(limits.inflatedBytesMax),
  });
}

export function peerIngress(environment: Environment, region: RegionSpec, meta: Meta): IIngress {
  const host = new URL(region.peerUrl).hostname;
  return ingress(meta, `${meta.name}-peers`, environment.peerIngressClass, host, peerPaths, {
    "nginx.ingress.kubernetes.io/whitelist-source-range": environment.peerSourceRanges.join(","),
    "nginx.ingress.kubernetes.io/proxy-body-size": bodySize(replicateBodyBytesMax),
  });
}

export function networkPolicy(environment: Environment, meta: Meta, labels: Record<string, string>): INetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta,
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress"],
      // The kubelet's probes come from the node, which a NetworkPolicy always lets through.
      ingress: [
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
      ],
    },
  };
}

function ingress(
  meta: Meta,
  name: string,
  ingressClassName: string,
  host: string,
  paths: PublishedPath[],
  annotations: Record<string, string>,
): IIngress {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { ...meta, name, annotations },
    spec: {
      ingressClassName,
      tls: [{ hosts: [host], secretName: `${name}-tls` }],
      rules: [
        {
          host,
          http: {
            paths: paths.map(({ path, pathType }) => ({
              path,
              pathType,
              backend: { service: { name: meta.name, port: { name: "http" } } },
            })),
          },
        },
      ],
    },
  };
}
