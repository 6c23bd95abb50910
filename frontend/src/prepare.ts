/**
 * Plan -> chart model: everything the card draws, as plain numbers, so it can be unit tested
 * without a browser. Times are epoch milliseconds; powers kW; SoC 0..1.
 *
 * Sign convention (the card's, stated on every power panel): storage power > 0 charges (drawn
 * up), < 0 discharges (drawn down), as hems_core plans it; grid > 0 imports, < 0 exports.
 */
import type { CardInfo, Plan, PlanResponse } from "./types";

export interface Step {
  t0: number;
  t1: number;
}

export interface SocPoint {
  t: number;
  soc: number;
}

export interface TargetMarker {
  /** Departure time. */
  t: number;
  target: number;
  /** Planned SoC at departure (end of the last step that ends by then); null if not covered. */
  planned: number | null;
  reached: boolean;
}

export interface AssetSeries {
  name: string;
  kind: string;
  /** kW per visible step, > 0 charge, < 0 discharge; null where the car is away. */
  power: (number | null)[];
  /** Polylines (split where the car is away) of the planned SoC. */
  soc: SocPoint[][];
  minSoc: number | null;
  maxSoc: number | null;
  liveSoc: number | null;
  boost: boolean;
  targets: TargetMarker[];
}

export interface ChartModel {
  steps: Step[];
  t0: number;
  t1: number;
  now: number;
  /** Index into `steps` of the step running now; -1 if the plan does not cover now. */
  nowIndex: number;
  importPrice: number[];
  exportPrice: number[];
  pv: number[];
  load: number[];
  /** Import minus export, kW. */
  grid: number[];
  /** The month's peak budget per visible step (kW); null without a capacity tariff. */
  peakBudget: (number | null)[];
  assets: AssetSeries[];
  /** The planner's reason for the step running now (English, as the core writes it). */
  reason: string | null;
  seq: number | null;
  source: string | null;
}

/** A step is "reached" when the plan ends within half a percent point below the target. */
export const TARGET_TOLERANCE = 0.005;
export const PAST_H = 1;

function monthIndex(t: number, timeZone: string | undefined): number {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "numeric" }).formatToParts(
    new Date(t),
  );
  const y = Number(parts.find((p) => p.type === "year")?.value);
  const m = Number(parts.find((p) => p.type === "month")?.value);
  return y * 12 + m;
}

function stepsOf(plan: Plan): Step[] {
  return plan.step_start.map((s, k) => {
    const t0 = Date.parse(s);
    return { t0, t1: t0 + plan.dt_h[k] * 3_600_000 };
  });
}

/** The step index running at `t`, or -1. */
export function stepAt(steps: Step[], t: number): number {
  for (let k = 0; k < steps.length; k++) {
    if (steps[k].t0 <= t && t < steps[k].t1) return k;
  }
  return -1;
}

/** Planned SoC at `t`: at the end of the last step ending at or before `t`. */
export function socAt(steps: Step[], soc: number[], t: number): number | null {
  let out: number | null = null;
  for (let k = 0; k < steps.length; k++) {
    if (steps[k].t1 <= t) out = soc[k];
    else break;
  }
  return out;
}

export interface PrepareOptions {
  now: number;
  hours?: number;
  timeZone?: string;
}

/** Build the chart model; null when there is no plan (the fallback rules run). */
export function prepare(resp: PlanResponse | null, info: CardInfo | null, opts: PrepareOptions): ChartModel | null {
  const plan = resp?.plan;
  if (!plan || plan.step_start.length === 0) return null;
  const hours = Math.min(48, Math.max(1, opts.hours ?? 48));
  const all = stepsOf(plan);
  const from = opts.now - PAST_H * 3_600_000;
  const until = opts.now + hours * 3_600_000;
  const idx: number[] = [];
  all.forEach((s, k) => {
    if (s.t1 > from && s.t0 < until) idx.push(k);
  });
  if (idx.length === 0) return null;
  const pick = <T>(arr: T[]): T[] => idx.map((k) => arr[k]);
  const steps = pick(all);
  const first = monthIndex(all[0].t0, opts.timeZone);
  const budgets = plan.month_peak_kw ?? [];
  const peakBudget = steps.map((s) => {
    if (budgets.length === 0) return null;
    const slot = Math.min(budgets.length - 1, Math.max(0, monthIndex(s.t0, opts.timeZone) - first));
    return budgets[slot];
  });
  const assets: AssetSeries[] = plan.assets.map((a) => {
    const st = info?.storages.find((s) => s.name === a.name);
    const power = idx.map((k) => (a.available[k] === false ? null : a.power_kw[k]));
    // SoC polylines: from the start of the first visible step (the previous step's end SoC)
    // through every step end; a step the car is away breaks the line.
    const lines: SocPoint[][] = [];
    let cur: SocPoint[] = [];
    const k0 = idx[0];
    if (k0 > 0 && a.available[k0 - 1] !== false) cur.push({ t: all[k0].t0, soc: a.soc[k0 - 1] });
    else if (k0 === 0 && st?.soc != null && a.available[0] !== false) cur.push({ t: all[0].t0, soc: st.soc });
    for (const k of idx) {
      if (a.available[k] === false) {
        if (cur.length) lines.push(cur);
        cur = [];
        continue;
      }
      cur.push({ t: all[k].t1, soc: a.soc[k] });
    }
    if (cur.length) lines.push(cur);
    const targets: TargetMarker[] = (st?.departures ?? [])
      .map((d) => {
        const t = Date.parse(d.at);
        const planned = socAt(all, a.soc, t);
        return { t, target: d.target_soc, planned, reached: planned !== null && planned >= d.target_soc - TARGET_TOLERANCE };
      })
      .filter((m) => m.t >= steps[0].t0 && m.t <= steps[steps.length - 1].t1);
    return {
      name: a.name,
      kind: a.kind,
      power,
      soc: lines,
      minSoc: st ? st.min_soc : null,
      maxSoc: st ? st.max_soc : null,
      liveSoc: st?.soc ?? null,
      boost: st?.boost ?? false,
      targets,
    };
  });
  const nowAll = stepAt(all, opts.now);
  return {
    steps,
    t0: steps[0].t0,
    t1: steps[steps.length - 1].t1,
    now: opts.now,
    nowIndex: stepAt(steps, opts.now),
    importPrice: pick(plan.import_price),
    exportPrice: pick(plan.export_price),
    pv: pick(plan.pv_kw),
    load: pick(plan.load_kw),
    grid: idx.map((k) => plan.grid_import_kw[k] - plan.grid_export_kw[k]),
    peakBudget,
    assets,
    reason: nowAll >= 0 ? plan.reasons[nowAll] : null,
    seq: resp?.seq ?? null,
    source: resp?.source ?? null,
  };
}

/** Symmetric-enough axis bounds: always include 0, pad a little, never a zero span. */
export function extent(values: (number | null)[], extra: (number | null)[] = []): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const v of [...values, ...extra]) {
    if (v == null || !Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  const pad = (hi - lo) * 0.08;
  return [lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi];
}

/** Status word of the site: the status entity, with the boost/fail-safe flags as a fallback. */
export function statusOf(states: Record<string, { state: string }>, info: CardInfo | null): string {
  const ent = info?.entities ?? {};
  const status = ent["sensor.status"];
  const word = status ? states[status]?.state : undefined;
  if (word && word !== "unknown" && word !== "unavailable") return word;
  const fs = ent["binary_sensor.fail_safe"];
  if (fs && states[fs]?.state === "on") return "fail_safe";
  for (const [key, id] of Object.entries(ent)) {
    if (key.endsWith("_boost_active") && states[id]?.state === "on") return "boost";
  }
  return "unknown";
}

/** Whether a car is boosting: its boost binary sensor, else what card_info said. */
export function boosting(states: Record<string, { state: string }>, info: CardInfo | null, car: string): boolean {
  const id = info?.entities[`binary_sensor.${car}_boost_active`];
  if (id && states[id]) return states[id].state === "on";
  return info?.storages.find((s) => s.name === car)?.boost ?? false;
}
