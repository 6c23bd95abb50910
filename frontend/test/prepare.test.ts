import { describe, expect, it } from "vitest";
import { boosting, extent, prepare, socAt, statusOf, TARGET_TOLERANCE } from "../src/prepare";
import type { CardInfo, PlanResponse } from "../src/types";
// A real plan from hems_core's optimiser (test/fixtures/make_plan.py) and its card_info.
import planJson from "./fixtures/plan.json";
import infoJson from "./fixtures/info.json";

const resp = planJson as unknown as PlanResponse;
const info = infoJson as unknown as CardInfo;
const plan = resp.plan!;
const t = (k: number): number => Date.parse(plan.step_start[k]);
const TZ = "Europe/Amsterdam";

describe("prepare", () => {
  it("keeps hems_core's sign: charge up, discharge down; grid is import minus export", () => {
    const now = t(0);
    const m = prepare(resp, info, { now, timeZone: TZ })!;
    const bat = plan.assets.find((a) => a.kind === "battery")!;
    const k = bat.power_kw.findIndex((p) => p < -0.5);
    expect(k).toBeGreaterThanOrEqual(0);
    const mb = m.assets.find((a) => a.kind === "battery")!;
    expect(mb.power[k]).toBeLessThan(0);
    const car = plan.assets.find((a) => a.kind === "ev")!;
    const kc = car.power_kw.findIndex((p) => p > 0.5);
    expect(m.assets.find((a) => a.kind === "ev")!.power[kc]).toBeGreaterThan(0);
    const kx = plan.grid_export_kw.findIndex((e) => e > 0.1);
    expect(kx).toBeGreaterThanOrEqual(0);
    expect(m.grid[kx]).toBeCloseTo(plan.grid_import_kw[kx] - plan.grid_export_kw[kx], 9);
    expect(m.grid[kx]).toBeLessThan(0);
  });

  it("marks the departure target reached when the planned SoC gets there", () => {
    const m = prepare(resp, info, { now: t(0), timeZone: TZ })!;
    const car = m.assets.find((a) => a.kind === "ev")!;
    expect(car.targets).toHaveLength(1);
    const mk = car.targets[0];
    expect(mk.t).toBe(Date.parse(info.storages[0].departures[0].at));
    expect(mk.target).toBe(0.8);
    expect(mk.planned).not.toBeNull();
    expect(mk.planned!).toBeGreaterThanOrEqual(0.8 - TARGET_TOLERANCE);
    expect(mk.reached).toBe(true);
    expect(car.minSoc).toBe(info.storages[0].min_soc);
    // The SoC line's last point before the departure is the planned SoC at departure.
    const pts = car.soc.flat().filter((p) => p.t <= mk.t);
    expect(pts[pts.length - 1].soc).toBe(mk.planned);
  });

  it("says short when the plan ends below the target", () => {
    const hi: CardInfo = structuredClone(info);
    hi.storages[0].departures[0].target_soc = 0.95;
    const car = prepare(resp, hi, { now: t(0), timeZone: TZ })!.assets.find((a) => a.kind === "ev")!;
    expect(car.targets[0].reached).toBe(false);
  });

  it("finds the step running now and its reason", () => {
    const now = t(5) + 60_000;
    const m = prepare(resp, info, { now, timeZone: TZ })!;
    expect(m.steps[m.nowIndex].t0).toBe(t(5));
    expect(m.reason).toBe(plan.reasons[5]);
    expect(m.now).toBe(now);
    // One hour of the past is kept: steps 1..5 are before now.
    expect(m.steps[0].t0).toBe(t(1));
  });

  it("has no now step before the plan starts", () => {
    const m = prepare(resp, info, { now: t(0) - 30 * 60_000, timeZone: TZ })!;
    expect(m.nowIndex).toBe(-1);
    expect(m.reason).toBeNull();
  });

  it("cuts the window to the hours asked for", () => {
    const now = t(0);
    const m = prepare(resp, info, { now, hours: 12, timeZone: TZ })!;
    expect(m.steps).toHaveLength(48);
    expect(m.t1).toBeLessThanOrEqual(now + 12 * 3_600_000);
    expect(m.pv).toHaveLength(48);
  });

  it("breaks power and the SoC line while the car is away", () => {
    const m = prepare(resp, info, { now: t(0), timeZone: TZ })!;
    const car = m.assets.find((a) => a.kind === "ev")!;
    const away = plan.assets[0].available.indexOf(false);
    expect(away).toBeGreaterThan(0);
    expect(car.power[away]).toBeNull();
    expect(car.soc.length).toBe(2);
  });

  it("uses next month's peak budget after the month changes", () => {
    const r: PlanResponse = structuredClone(resp);
    const p = r.plan!;
    // Two steps either side of midnight into November (Amsterdam time).
    p.step_start = ["2025-10-31T22:45:00Z", "2025-10-31T23:00:00Z"];
    p.dt_h = [0.25, 0.25];
    p.month_peak_kw = [4.0, 2.5];
    const m = prepare(r, null, { now: Date.parse("2025-10-31T22:50:00Z"), timeZone: TZ })!;
    expect(m.peakBudget).toEqual([4.0, 2.5]);
    p.month_peak_kw = [];
    expect(prepare(r, null, { now: Date.parse("2025-10-31T22:50:00Z"), timeZone: TZ })!.peakBudget).toEqual([
      null,
      null,
    ]);
  });

  it("returns null without a plan", () => {
    expect(prepare({ mode: "auto", source: "fallback", seq: null, plan: null }, info, { now: 0 })).toBeNull();
    expect(prepare(null, null, { now: 0 })).toBeNull();
  });
});

describe("helpers", () => {
  it("socAt takes the end of the last step finished by then", () => {
    const steps = [
      { t0: 0, t1: 10 },
      { t0: 10, t1: 20 },
    ];
    expect(socAt(steps, [0.4, 0.5], 5)).toBeNull();
    expect(socAt(steps, [0.4, 0.5], 10)).toBe(0.4);
    expect(socAt(steps, [0.4, 0.5], 25)).toBe(0.5);
  });

  it("extent always includes zero and never has zero span", () => {
    expect(extent([2, 3])[0]).toBe(0);
    const [lo, hi] = extent([-2, 1]);
    expect(lo).toBeLessThan(-2);
    expect(hi).toBeGreaterThan(1);
    const [a, b] = extent([]);
    expect(a).toBe(0);
    expect(b).toBeGreaterThanOrEqual(1);
  });

  it("status from the status sensor, else fail-safe/boost flags", () => {
    const st = { "sensor.demo_home_status": { state: "island" } };
    expect(statusOf(st, info)).toBe("island");
    expect(statusOf({ "binary_sensor.car_boost_active": { state: "on" } }, info)).toBe("boost");
    expect(statusOf({}, null)).toBe("unknown");
    expect(boosting({ "binary_sensor.car_boost_active": { state: "on" } }, info, "Car")).toBe(true);
    expect(boosting({}, info, "Car")).toBe(false);
  });
});
