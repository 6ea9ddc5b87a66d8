/**
 * A small, dependency-free SVG chart: two panels sharing a logarithmic x axis (pairs), one for
 * delivered messages per second and one for p99 latency, each with a line for the service and
 * one for the floor relay.
 */

/** One series of a panel. */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly points: readonly { x: number; y: number }[];
}

/** One panel of the chart. */
export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  /** Logarithmic y axis (for latency, which spans decades). */
  readonly logY: boolean;
  readonly series: readonly Series[];
}

const PANEL_W = 420;
const PANEL_H = 300;
const MARGIN = { left: 70, right: 20, top: 56, bottom: 50 };

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function formatTick(value: number): string {
  if (value >= 1_000_000) return `${value / 1_000_000}M`;
  if (value >= 1000) return `${value / 1000}k`;
  return String(value);
}

function niceLinearTicks(max: number): number[] {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let value = 0; value <= max * 1.0001 + step / 2; value += step) ticks.push(round(value));
  return ticks;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function decadeTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    ticks.push(10 ** e);
  }
  return ticks;
}

/** Where a panel draws: its plot box and how values map onto it. */
interface Frame {
  readonly left: number;
  readonly right: number;
  readonly bottom: number;
  readonly plotW: number;
  readonly plotH: number;
  readonly offsetX: number;
  readonly yTicks: number[];
  xOf(x: number): number;
  yOf(y: number): number;
}

function panelFrame(panel: Panel, xs: readonly number[], offsetX: number): Frame {
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const allY = panel.series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => y > 0);
  const xMin = Math.min(...xs) / 1.5;
  const xMax = Math.max(...xs) * 1.5;
  const xOf = (x: number) =>
    offsetX + MARGIN.left +
    ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW;
  let yTicks: number[];
  let yOf: (y: number) => number;
  if (panel.logY) {
    yTicks = decadeTicks(Math.min(...allY), Math.max(...allY));
    const lo = Math.log10(yTicks[0]);
    const hi = Math.log10(yTicks[yTicks.length - 1]);
    yOf = (y) =>
      MARGIN.top + plotH - ((Math.log10(Math.max(y, yTicks[0])) - lo) / (hi - lo || 1)) * plotH;
  } else {
    yTicks = niceLinearTicks(Math.max(...allY) * 1.05);
    const top = yTicks[yTicks.length - 1] || 1;
    yOf = (y) => MARGIN.top + plotH - (y / top) * plotH;
  }
  const left = offsetX + MARGIN.left;
  return {
    left,
    right: left + plotW,
    bottom: MARGIN.top + plotH,
    plotW,
    plotH,
    offsetX,
    yTicks,
    xOf,
    yOf,
  };
}

/** The title, grid, ticks, box and axis labels of a panel. */
function renderAxes(panel: Panel, xs: readonly number[], f: Frame): string[] {
  const out: string[] = [];
  const { left, right, bottom, plotW, plotH, offsetX } = f;
  out.push(
    `<text x="${left + plotW / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${
      escape(panel.title)
    }</text>`,
  );
  for (const tick of f.yTicks) {
    const y = f.yOf(tick);
    out.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${
        formatTick(tick)
      }</text>`,
    );
  }
  for (const x of xs) {
    const px = f.xOf(x);
    out.push(`<line x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${bottom}" stroke="#f0f0f0"/>`);
    out.push(
      `<text x="${px}" y="${bottom + 16}" text-anchor="middle" font-size="11">${
        formatTick(x)
      }</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  out.push(
    `<text x="${left + plotW / 2}" y="${
      bottom + 36
    }" text-anchor="middle" font-size="12">pairs (log scale)</text>`,
  );
  out.push(
    `<text x="${offsetX + 16}" y="${MARGIN.top + plotH / 2}" text-anchor="middle" font-size="12" ` +
      `transform="rotate(-90 ${offsetX + 16} ${MARGIN.top + plotH / 2})">${
        escape(panel.yLabel)
      }</text>`,
  );
  return out;
}

/** One series: its line, its points, and its legend entry. */
function renderSeries(series: Series, index: number, f: Frame): string[] {
  const out: string[] = [];
  const points = series.points.filter((p) => p.y > 0).map((p) =>
    `${f.xOf(p.x).toFixed(1)},${f.yOf(p.y).toFixed(1)}`
  );
  const dash = series.dashed ? ` stroke-dasharray="6 4"` : "";
  out.push(
    `<polyline points="${
      points.join(" ")
    }" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`,
  );
  for (const point of points) {
    const [x, y] = point.split(",");
    out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${series.color}"/>`);
  }
  // The legend sits in one row between the title and the plot.
  const lx = f.left + index * 150;
  const ly = 42;
  out.push(
    `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${
      ly - 4
    }" stroke="${series.color}" stroke-width="2"${dash}/>`,
  );
  out.push(`<text x="${lx + 30}" y="${ly}" font-size="11">${escape(series.label)}</text>`);
  return out;
}

function renderPanel(panel: Panel, xs: readonly number[], offsetX: number): string {
  const frame = panelFrame(panel, xs, offsetX);
  return [
    ...renderAxes(panel, xs, frame),
    ...panel.series.flatMap((series, index) => renderSeries(series, index, frame)),
  ].join("\n");
}

/** Renders panels side by side over the x values `xs`. */
export function renderChart(
  title: string,
  xs: readonly number[],
  panels: readonly Panel[],
): string {
  const width = PANEL_W * panels.length;
  const height = PANEL_H + 24;
  const body = panels.map((panel, index) => renderPanel(panel, xs, index * PANEL_W)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<title>${escape(title)}</title>
<rect width="${width}" height="${height}" fill="white"/>
${body}
<text x="${width / 2}" y="${height - 6}" text-anchor="middle" font-size="11" fill="#555">${
      escape(title)
    }</text>
</svg>
`;
}
