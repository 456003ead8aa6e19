/**
 * The parts of a region's definition that depend on its storage mode: the workload (a scalable
 * Deployment on PostgreSQL, a one-pod StatefulSet with a volume on PGlite) and its
 * PodDisruptionBudget. How the region is reached is network.ts.
 */

import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IService } from "kubernetes-models/v1/Service";
import type { Environment } from "./environments.ts";

type Meta = { name: string; namespace: string; labels: Record<string, string> };
type Labels = Record<string, string>;

/** Replicas actually run: PGlite is one process per data folder. */
export function replicasOf(environment: Environment): number {
  return environment.storage === "pglite" ? 1 : environment.replicas;
}

export function workload(
  environment: Environment,
  meta: Meta,
  labels: Labels,
  annotations: Record<string, string>,
  pod: IPodSpec,
): (IDeployment | IStatefulSet | IService)[] {
  const template = { metadata: { labels: meta.labels, annotations }, spec: pod };
  if (environment.storage === "postgres") {
    const deployment: IDeployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        replicas: replicasOf(environment),
        selector: { matchLabels: labels },
        // A new pod must be ready before an old one stops: capacity never drops.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        minReadySeconds: 5,
        revisionHistoryLimit: 10,
        template,
      },
    };
    return [deployment];
  }
  // A headless Service gives the StatefulSet's pod its stable name.
  const headless: IService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { ...meta, name: `${meta.name}-pods` },
    spec: { clusterIP: "None", selector: labels, ports: [{ name: "http", port: 8700, targetPort: "http" }] },
  };
  const statefulSet: IStatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta,
    spec: {
      replicas: 1,
      serviceName: headless.metadata?.name as string,
      selector: { matchLabels: labels },
      // One pod owns the volume, so an update replaces it in place; the edge fails over meanwhile.
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      podManagementPolicy: "OrderedReady",
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template,
      volumeClaimTemplates: [
        {
          metadata: { name: "data", labels: meta.labels },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: environment.volumeSize } } },
        },
        // The key store on a volume of its own, so a snapshot or restore of the data volume never
        // brings back keys an erasure destroyed. Keys are small.
        {
          metadata: { name: "keys", labels: meta.labels },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
    },
  };
  return [headless, statefulSet];
}

export function disruptionBudget(environment: Environment, meta: Meta, labels: Labels): IPodDisruptionBudget {
  // A scalable region keeps all but one pod through a node drain; a one-pod region may be
  // evicted (its volume follows it), since blocking drains forever would be worse.
  const spec =
    replicasOf(environment) > 1
      ? { minAvailable: replicasOf(environment) - 1, selector: { matchLabels: labels } }
      : { maxUnavailable: 1, selector: { matchLabels: labels } };
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta, spec };
}
