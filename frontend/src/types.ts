/** Shapes of what the card reads: `hems.get_plan`'s response and `hems/card_info`. */

export interface AssetPlan {
  name: string;
  kind: string; // "ev" | "battery"
  /** kW per step; > 0 charges, < 0 discharges (hems_core's sign). */
  power_kw: number[];
  charge_kwh: number[];
  discharge_kwh: number[];
  energy_kwh: number[];
  /** 0..1 at the END of each step. */
  soc: number[];
  available: boolean[];
  shortfall_kwh: number[];
}

export interface Plan {
  start: string;
  step_start: string[];
  dt_h: number[];
  grid_import_kw: number[];
  grid_export_kw: number[];
  import_over_limit_kw: number[];
  pv_kw: number[];
  pv_curtail_kw: number[];
  load_kw: number[];
  import_price: number[];
  export_price: number[];
  assets: AssetPlan[];
  /** One budget per calendar month the horizon touches (this month, next month). */
  month_peak_kw: number[];
  reasons: string[];
  costs?: Record<string, number>;
}

export interface PlanResponse {
  mode: string;
  source: string;
  seq: number | null;
  plan: Plan | null;
}

export interface StorageInfo {
  name: string;
  kind: string;
  capacity_kwh: number;
  min_soc: number;
  max_soc: number;
  soc: number | null;
  boost: boolean;
  departures: { at: string; target_soc: number }[];
}

export interface CardInfo {
  title?: string;
  /** "<domain>.<key>" (key as in the unique id after the entry id) -> entity id. */
  entities: Record<string, string>;
  storages: StorageInfo[];
}

export interface HassEntity {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed: string;
  last_updated: string;
}

export interface HassConnection {
  sendMessagePromise<T>(msg: Record<string, unknown>): Promise<T>;
  subscribeEvents?(cb: (ev: { data: Record<string, unknown> }) => void, type: string): Promise<() => void>;
}

/** The part of Home Assistant's `hass` object the card uses. */
export interface Hass {
  states: Record<string, HassEntity>;
  language?: string;
  locale?: { language?: string };
  config?: { time_zone?: string };
  themes?: { darkMode?: boolean };
  connection: HassConnection;
  callWS<T>(msg: Record<string, unknown>): Promise<T>;
  callService(domain: string, service: string, data?: Record<string, unknown>): Promise<unknown>;
}

export interface CardConfig {
  type: string;
  config_entry_id?: string;
  title?: string;
  /** Hours ahead to draw (12..48). */
  hours?: number;
  show_prices?: boolean;
  show_forecast?: boolean;
  show_grid?: boolean;
}
