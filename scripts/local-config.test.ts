// npm start's folder, names and ports from the environment: defaults, overrides, and errors that
// name the variable.
import { describe, expect, it } from "vitest";
import { loadLocalConfig } from "./local-config.ts";

describe("loadLocalConfig", () => {
  it("defaults to .stormlog and leaves names and ports to the local system's defaults", () => {
    expect(loadLocalConfig({})).toEqual({ dir: ".stormlog" });
  });

  it("reads the folder, names and every port", () => {
    expect(
      loadLocalConfig({
        STORMLOG_LOCAL_DIR: "/tmp/stormlog-a",
        STORMLOG_LOCAL_REGIONS: "a, b",
        STORMLOG_LOCAL_REGION_PORTS: "18701,18702",
        STORMLOG_LOCAL_ADMIN_PORTS: "18711,18712",
        STORMLOG_LOCAL_EDGE_PORT: "18787",
        STORMLOG_LOCAL_INSPECTOR_PORT: "19230",
      }),
    ).toEqual({
      dir: "/tmp/stormlog-a",
      regionNames: ["a", "b"],
      regionPorts: [18701, 18702],
      adminPorts: [18711, 18712],
      edgePort: 18787,
      inspectorPort: 19230,
    });
  });

  it.each([
    [{ STORMLOG_LOCAL_EDGE_PORT: "http" }, "STORMLOG_LOCAL_EDGE_PORT: expected a port number (1-65535)"],
    [{ STORMLOG_LOCAL_INSPECTOR_PORT: "70000" }, "STORMLOG_LOCAL_INSPECTOR_PORT: expected a port number (1-65535)"],
    [{ STORMLOG_LOCAL_REGION_PORTS: "1,2,x" }, "STORMLOG_LOCAL_REGION_PORTS.2: expected a port number (1-65535)"],
    [
      { STORMLOG_LOCAL_REGION_PORTS: "18701,18702" },
      "STORMLOG_LOCAL_REGION_PORTS: expected 3 ports, one per region, got 2",
    ],
    [{ STORMLOG_LOCAL_ADMIN_PORTS: "1" }, "STORMLOG_LOCAL_ADMIN_PORTS: expected 3 ports, one per region, got 1"],
    [{ STORMLOG_LOCAL_REGIONS: "a,A" }, "STORMLOG_LOCAL_REGIONS.1: expected lowercase letters, digits and -"],
    [{ STORMLOG_LOCAL_REGIONS: "a,a" }, "STORMLOG_LOCAL_REGIONS: expected each name once"],
    [{ STORMLOG_LOCAL_REGIONS: "a,edge" }, "STORMLOG_LOCAL_REGIONS: edge is the edge's name, not a region's"],
  ])("rejects %o", (env, message) => {
    expect(() => loadLocalConfig(env)).toThrow(message);
  });
});
