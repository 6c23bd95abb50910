/**
 * The plan drawn as plain SVG (Lit `svg` templates): stacked panels on one time axis, a "now"
 * line across all of them. Colours come from CSS classes the card styles with Home Assistant's
 * theme variables, so light and dark themes need nothing here.
 */
import { svg, type SVGTemplateResult } from "lit";
import type { AssetSeries, ChartModel } from "./prepare";
import { extent } from "./prepare";
import type { Language, Translate } from "./i18n";
import { formatPct } from "./i18n";

export interface ChartOptions {
  width: number;
  lang: Language;
  t: Translate;
  timeZone?: string;
  showPrices: boolean;
  showForecast: boolean;
  showGrid: boolean;
  names: Record<string, string>;
}

const ML = 38; // left margin: kW / price ticks
const MR = 34; // right margin: SoC ticks
const TITLE = 16;
const AXIS = 20;
const PRICE_H = 64;
const FORECAST_H = 64;
const GRID_H = 72;
const ASSET_H = 104;
const GAP = 8;

interface Scale {
  x: (t: number) => number;
  x0: number;
  x1: number;
}

const f = (v: number): string => v.toFixed(1);

function yScale(lo: number, hi: number, top: number, h: number): (v: number) => number {
  return (v) => top + h - ((v - lo) / (hi - lo)) * h;
}

function num(lang: Language, v: number, digits: number): string {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v);
}

/** A step line (value held over each step). */
function stepPath(m: ChartModel, sx: Scale, y: (v: number) => number, values: (number | null)[]): string {
  let d = "";
  let pen = false;
  m.steps.forEach((s, k) => {
    const v = values[k];
    if (v == null) {
      pen = false;
      return;
    }
    const x0 = sx.x(s.t0);
    const x1 = sx.x(s.t1);
    d += `${pen ? "L" : "M"}${f(x0)},${f(y(v))}L${f(x1)},${f(y(v))}`;
    pen = true;
  });
  return d;
}

function areaPath(m: ChartModel, sx: Scale, y: (v: number) => number, values: number[]): string {
  if (m.steps.length === 0) return "";
  let d = `M${f(sx.x(m.steps[0].t0))},${f(y(0))}`;
  m.steps.forEach((s, k) => {
    d += `L${f(sx.x(s.t0))},${f(y(values[k]))}L${f(sx.x(s.t1))},${f(y(values[k]))}`;
  });
  return d + `L${f(sx.x(m.steps[m.steps.length - 1].t1))},${f(y(0))}Z`;
}

/** Bars from zero: positive and negative get their own class (charge/discharge, import/export). */
function bars(
  m: ChartModel,
  sx: Scale,
  y: (v: number) => number,
  values: (number | null)[],
  pos: string,
  neg: string,
): SVGTemplateResult[] {
  const out: SVGTemplateResult[] = [];
  const y0 = y(0);
  m.steps.forEach((s, k) => {
    const v = values[k];
    if (v == null || Math.abs(v) < 0.01) return;
    const x0 = sx.x(s.t0);
    const w = Math.max(0.6, sx.x(s.t1) - x0 - 0.4);
    const yv = y(v);
    out.push(
      svg`<rect class=${v > 0 ? pos : neg} x=${f(x0)} y=${f(Math.min(y0, yv))} width=${f(w)} height=${f(Math.abs(yv - y0))}></rect>`,
    );
  });
  return out;
}

function frame(
  top: number,
  h: number,
  sx: Scale,
  title: string,
  lo: number,
  hi: number,
  y: (v: number) => number,
  lang: Language,
  digits: number,
): SVGTemplateResult {
  return svg`
    <text class="ptitle" x=${ML} y=${top - 4}>${title}</text>
    <rect class="pframe" x=${sx.x0} y=${top} width=${sx.x1 - sx.x0} height=${h}></rect>
    ${lo < 0 && hi > 0 ? svg`<line class="zero" x1=${sx.x0} x2=${sx.x1} y1=${f(y(0))} y2=${f(y(0))}></line>` : null}
    <text class="tick" x=${ML - 4} y=${top + 9} text-anchor="end">${num(lang, hi, digits)}</text>
    <text class="tick" x=${ML - 4} y=${top + h} text-anchor="end">${num(lang, lo, digits)}</text>`;
}

function assetPanel(a: AssetSeries, m: ChartModel, sx: Scale, top: number, o: ChartOptions): SVGTemplateResult {
  const h = ASSET_H;
  const [lo, hi] = extent(a.power);
  const y = yScale(lo, hi, top, h);
  const ys = yScale(0, 1, top, h);
  const label = o.names[a.name] ?? a.name;
  const soc = a.soc.map(
    (line) => svg`<polyline class="soc" points=${line.map((p) => `${f(sx.x(p.t))},${f(ys(p.soc))}`).join(" ")}></polyline>`,
  );
  const targets = a.targets.map((mk) => {
    const x = sx.x(mk.t);
    const yt = ys(mk.target);
    return svg`
      <g class=${mk.reached ? "target ok" : "target short"} data-target=${mk.target} data-planned=${mk.planned ?? ""}>
        <line class="dep" x1=${f(x)} x2=${f(x)} y1=${top} y2=${top + h}></line>
        <path class="mark" d=${`M${f(x)},${f(yt - 5)}l5,5l-5,5l-5,-5z`}></path>
        <text class="tlabel" x=${f(x - 7)} y=${f(Math.max(top + 10, yt - 6))} text-anchor="end">${o.t("target")} ${formatPct(o.lang, mk.target)}</text>
      </g>`;
  });
  const min =
    a.minSoc != null
      ? svg`<line class="minsoc" x1=${sx.x0} x2=${sx.x1} y1=${f(ys(a.minSoc))} y2=${f(ys(a.minSoc))}></line>
          <text class="tlabel minl" x=${sx.x1 - 3} y=${f(ys(a.minSoc) - 3)} text-anchor="end">${o.t("min_soc")} ${formatPct(o.lang, a.minSoc)}</text>`
      : null;
  return svg`
    <g class="asset" data-asset=${a.name}>
      ${frame(top, h, sx, `${label} · ${o.t("power")} (${o.t("charge_discharge")}) · ${o.t("soc")}`, lo, hi, y, o.lang, 1)}
      ${bars(m, sx, y, a.power, "charge", "discharge")}
      ${min}
      ${soc}
      ${targets}
      <text class="tick" x=${sx.x1 + 3} y=${top + 9}>100%</text>
      <text class="tick" x=${sx.x1 + 3} y=${top + h / 2 + 4}>50%</text>
      <text class="tick" x=${sx.x1 + 3} y=${top + h}>0%</text>
    </g>`;
}

function timeAxis(m: ChartModel, sx: Scale, top: number, bottom: number, o: ChartOptions): SVGTemplateResult[] {
  const every = o.width < 520 ? 6 : 3;
  const fmt = new Intl.DateTimeFormat(o.lang, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: o.timeZone });
  const hourOf = new Intl.DateTimeFormat("en-GB", { hour: "numeric", hour12: false, timeZone: o.timeZone });
  const out: SVGTemplateResult[] = [];
  const first = Math.ceil(m.t0 / 3_600_000) * 3_600_000;
  for (let t = first; t <= m.t1; t += 3_600_000) {
    const hour = Number(hourOf.format(new Date(t))) % 24;
    if (hour % every !== 0) continue;
    const x = sx.x(t);
    out.push(svg`<line class="grid" x1=${f(x)} x2=${f(x)} y1=${top} y2=${bottom}></line>
      <text class="tick" x=${f(x)} y=${bottom + 13} text-anchor="middle">${fmt.format(new Date(t))}</text>`);
  }
  return out;
}

export function chartHeight(m: ChartModel, o: ChartOptions): number {
  let h = 8;
  if (o.showPrices) h += TITLE + PRICE_H + GAP;
  if (o.showForecast) h += TITLE + FORECAST_H + GAP;
  if (o.showGrid) h += TITLE + GRID_H + GAP;
  h += m.assets.length * (TITLE + ASSET_H + GAP);
  return h + AXIS;
}

export function renderChart(m: ChartModel, o: ChartOptions): SVGTemplateResult {
  const W = Math.max(280, o.width);
  const sx: Scale = {
    x0: ML,
    x1: W - MR,
    x: (t) => ML + ((t - m.t0) / (m.t1 - m.t0)) * (W - MR - ML),
  };
  const H = chartHeight(m, o);
  const parts: SVGTemplateResult[] = [];
  let top = 8;
  if (o.showPrices) {
    top += TITLE;
    const [lo, hi] = extent(m.importPrice, m.exportPrice);
    const y = yScale(lo, hi, top, PRICE_H);
    parts.push(svg`<g class="panel prices">
      ${frame(top, PRICE_H, sx, `${o.t("prices")}: ${o.t("import_price")} / ${o.t("export_price")}`, lo, hi, y, o.lang, 2)}
      <path class="imp line" d=${stepPath(m, sx, y, m.importPrice)}></path>
      <path class="exp line" d=${stepPath(m, sx, y, m.exportPrice)}></path></g>`);
    top += PRICE_H + GAP;
  }
  if (o.showForecast) {
    top += TITLE;
    const [lo, hi] = extent(m.pv, m.load);
    const y = yScale(lo, hi, top, FORECAST_H);
    parts.push(svg`<g class="panel forecast">
      ${frame(top, FORECAST_H, sx, `${o.t("forecast")}: ${o.t("pv")} / ${o.t("load")}`, lo, hi, y, o.lang, 1)}
      <path class="pv" d=${areaPath(m, sx, y, m.pv)}></path>
      <path class="load line" d=${stepPath(m, sx, y, m.load)}></path></g>`);
    top += FORECAST_H + GAP;
  }
  if (o.showGrid) {
    top += TITLE;
    const [lo, hi] = extent(m.grid, m.peakBudget);
    const y = yScale(lo, hi, top, GRID_H);
    parts.push(svg`<g class="panel grid-panel">
      ${frame(top, GRID_H, sx, m.peakBudget.some((v) => v != null) ? `${o.t("grid")} · ${o.t("peak_budget")} - -` : o.t("grid"), lo, hi, y, o.lang, 1)}
      ${bars(m, sx, y, m.grid, "import", "export")}
      <path class="budget" d=${stepPath(m, sx, y, m.peakBudget)}></path></g>`);
    top += GRID_H + GAP;
  }
  for (const a of m.assets) {
    top += TITLE;
    parts.push(assetPanel(a, m, sx, top, o));
    top += ASSET_H + GAP;
  }
  const bottom = top - GAP;
  const nx = m.now >= m.t0 && m.now <= m.t1 ? sx.x(m.now) : null;
  return svg`<svg class="chart" width=${W} height=${H} viewBox=${`0 0 ${W} ${H}`} role="img">
    ${timeAxis(m, sx, 8, bottom, o)}
    ${parts}
    ${
      nx == null
        ? null
        : svg`<g class="now"><line x1=${f(nx)} x2=${f(nx)} y1=${8} y2=${bottom}></line>
          <text x=${f(nx + 3)} y=${bottom - 3}>${o.t("now")}</text></g>`
    }
  </svg>`;
}
