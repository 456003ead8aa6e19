import { describe, expect, it } from "vitest";
import { regionEnvOf } from "./local-system.ts";

describe("regionEnvOf", () => {
  it("gives every region the same extra environment", () => {
    expect(regionEnvOf({ STORMLOG_LOG_LEVEL: "warn" }, "eu-west")).toEqual({ STORMLOG_LOG_LEVEL: "warn" });
  });

  it("gives each region its own when given a function of the region's name", () => {
    const env = (name: string) => ({ DATABASE_URL: `postgres://127.0.0.1:5432/bench_${name.replace("-", "_")}` });
    expect(regionEnvOf(env, "eu-west")).toEqual({ DATABASE_URL: "postgres://127.0.0.1:5432/bench_eu_west" });
    expect(regionEnvOf(env, "us-east")).toEqual({ DATABASE_URL: "postgres://127.0.0.1:5432/bench_us_east" });
  });
});
