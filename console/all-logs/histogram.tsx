/**
 * Lines per level over time (`GET /v1/stats/volume`, counted from the batches' clear metadata),
 * drawn with uPlot; dragging across it sets the time range (`from`/`to` in the URL), which zooms
 * the histogram and the lines below. The totals are written out too, for readers and screen readers.
 * uPlot is loaded on first use, apart from the app: it formats numbers with `navigator.language`
 * as it loads, which throws where the browser reports a POSIX locale (`en-US@posix`, a headless
 * Chromium under LANG=C), and a chart that cannot load must leave the rest of the console working.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { levels } from "../../shared/batch.ts";
import type { VolumeAnswer } from "../../shared/console-api.ts";
import { type ApiFailure, api } from "../api.ts";
import { formatTime } from "../format.ts";
import { ErrorBox, Loading } from "../shell/status.tsx";
import { setParams } from "../url.ts";

const colors = {
  trace: "#8a8f98",
  debug: "#4c8bf5",
  info: "#2e9e5b",
  warn: "#d99a00",
  error: "#d9433b",
  fatal: "#9c27b0",
};

export function Histogram({ from, to, device }: { from?: string; to?: string; device?: string }) {
  const [volume, setVolume] = useState<VolumeAnswer | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [chartFailure, setChartFailure] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setVolume(null);
    setFailure(null);
    api
      .volume({ from, to, device, buckets: 60 })
      .then(setVolume)
      .catch((error: ApiFailure) => setFailure(error));
  }, [from, to, device]);

  useEffect(() => {
    const target = box.current;
    if (!volume || !target) return;
    let plot: uPlot | undefined;
    let gone = false;
    loadChart()
      .then((Chart) => {
        if (!gone) plot = drawChart(Chart, volume, target);
      })
      .catch((error: unknown) => setChartFailure(error instanceof Error ? error.message : String(error)));
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [volume]);

  if (failure) return <ErrorBox error={failure} what="the volume histogram" />;
  if (!volume) return <Loading what="the volume histogram" />;
  const total = levels.reduce((sum, level) => sum + volume.total[level], 0);
  return (
    <figure class="histogram">
      <div ref={box} aria-hidden="true" />
      <figcaption>
        <span data-testid="volume-total">{total}</span> lines from {formatTime(volume.from)} to {formatTime(volume.to)}:{" "}
        {levels
          .filter((level) => volume.total[level] > 0)
          .map((level) => `${level} ${volume.total[level]}`)
          .join(", ")}
        .{" "}
        {chartFailure
          ? `The chart could not be drawn in this browser (${chartFailure}); pick a time range in the filters instead.`
          : "Drag across the chart to zoom in."}
      </figcaption>
    </figure>
  );
}

async function loadChart(): Promise<typeof uPlot> {
  return (await import("uplot")).default;
}

function drawChart(Chart: typeof uPlot, volume: VolumeAnswer, target: HTMLElement): uPlot {
  const xs = volume.buckets.map((bucket) => Date.parse(bucket.start) / 1000);
  const series = levels.map((level) => volume.buckets.map((bucket) => bucket.counts[level]));
  return new Chart(
    {
      width: target.clientWidth || 800,
      height: 160,
      cursor: { drag: { x: true, y: false } },
      series: [
        {},
        ...levels.map((level) => ({
          label: level,
          stroke: colors[level],
          fill: `${colors[level]}55`,
          paths: Chart.paths.bars?.({ size: [0.9, 40] }),
        })),
      ],
      hooks: {
        setSelect: [
          (chart: uPlot) => {
            if (chart.select.width < 4) return;
            const start = chart.posToVal(chart.select.left, "x");
            const end = chart.posToVal(chart.select.left + chart.select.width, "x");
            setParams({
              from: new Date(start * 1000).toISOString(),
              to: new Date(end * 1000).toISOString(),
              line: undefined,
            });
          },
        ],
      },
    },
    [xs, ...series],
    target,
  );
}
