/**
 * <hems-plan-card>: the HEMS plan for the next 24-48 h, the reason for what happens now, the
 * site's status and Boost/Cancel per car. Data: `hems.get_plan` (response data) and the
 * integration's `hems/card_info` websocket command; it re-reads on every `hems_event`
 * plan change, when the status or a boost entity changes, and once a minute.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { renderChart } from "./chart";
import { pickLanguage, reasonText, translator, type Key, type Language, type Translate } from "./i18n";
import { boosting, prepare, statusOf, type ChartModel } from "./prepare";
import type { CardConfig, CardInfo, Hass, PlanResponse } from "./types";
import "./editor";

export const CARD_TAG = "hems-plan-card";
const REFRESH_MS = 60_000;

interface ServiceResult<T> {
  response: T;
}

export class HemsPlanCard extends LitElement {
  static override properties = {
    hass: { attribute: false },
    _config: { state: true },
    _plan: { state: true },
    _info: { state: true },
    _error: { state: true },
    _width: { state: true },
    _busy: { state: true },
  };

  hass?: Hass;
  _config?: CardConfig;
  _plan?: PlanResponse | null;
  _info?: CardInfo | null;
  _error?: string;
  _width = 400;
  _busy = false;

  private _entryId?: string;
  private _timer?: number;
  private _unsub?: () => void;
  private _resize?: ResizeObserver;
  private _watch = "";
  private _loading = false;

  static getConfigElement(): HTMLElement {
    return document.createElement("hems-plan-card-editor");
  }

  static getStubConfig(): CardConfig {
    return { type: `custom:${CARD_TAG}`, hours: 24 };
  }

  setConfig(config: CardConfig): void {
    if (!config) throw new Error("Invalid configuration");
    const changed = config.config_entry_id !== this._config?.config_entry_id;
    this._config = { hours: 24, show_prices: true, show_forecast: true, show_grid: true, ...config };
    if (changed) {
      this._entryId = config.config_entry_id;
      this._plan = undefined;
      this._info = undefined;
      if (this.hass) void this._load();
    }
  }

  getCardSize(): number {
    return 8;
  }

  /** Sections view: full width, tall. */
  getGridOptions(): Record<string, number> {
    return { columns: 12, min_columns: 6, rows: 8, min_rows: 4 };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this._timer = window.setInterval(() => void this._load(), REFRESH_MS);
    this._resize = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0].contentRect.width);
      if (w > 0 && Math.abs(w - this._width) > 2) this._width = w;
    });
    this._resize.observe(this);
    if (this.hass) {
      void this._load();
      void this._subscribe();
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this._timer);
    this._resize?.disconnect();
    this._unsub?.();
    this._unsub = undefined;
  }

  private get _lang(): Language {
    return pickLanguage(this.hass?.locale?.language ?? this.hass?.language);
  }

  private get _t(): Translate {
    return translator(this._lang);
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (!changed.has("hass") || !this.hass) return;
    const first = changed.get("hass") === undefined;
    if (first) {
      void this._load();
      void this._subscribe();
      return;
    }
    // Re-read when the status or a boost flag changes (works without event access).
    const ent = this._info?.entities ?? {};
    const ids = Object.entries(ent)
      .filter(([k]) => k === "sensor.status" || k.endsWith("_boost_active") || k === "binary_sensor.fail_safe")
      .map(([, id]) => id);
    const sig = ids.map((id) => `${id}=${this.hass!.states[id]?.state}`).join("|");
    if (sig !== this._watch) {
      const had = this._watch !== "";
      this._watch = sig;
      if (had) void this._load();
    }
  }

  private async _subscribe(): Promise<void> {
    if (this._unsub || !this.hass?.connection.subscribeEvents) return;
    try {
      // Admin users only (HA allows non-admins a fixed event list); the entity watch covers the rest.
      this._unsub = await this.hass.connection.subscribeEvents((ev) => {
        const d = ev.data;
        if (this._entryId && d.entry_id !== this._entryId) return;
        if (d.type === "plan_changed" || d.type === "boost_started" || d.type === "boost_ended") void this._load();
      }, "hems_event");
    } catch {
      this._unsub = undefined;
    }
  }

  private async _resolveEntry(): Promise<string | undefined> {
    if (this._entryId) return this._entryId;
    const res = await this.hass!.callWS<{ entries: { entry_id: string }[] }>({ type: "hems/card_info" });
    this._entryId = res.entries[0]?.entry_id;
    return this._entryId;
  }

  private async _load(): Promise<void> {
    if (!this.hass || this._loading) return;
    this._loading = true;
    try {
      const entry = await this._resolveEntry();
      if (!entry) {
        this._error = this._t("no_site");
        return;
      }
      const [plan, info] = await Promise.all([
        this.hass.connection.sendMessagePromise<ServiceResult<PlanResponse>>({
          type: "call_service",
          domain: "hems",
          service: "get_plan",
          service_data: { config_entry_id: entry },
          return_response: true,
        }),
        this.hass.callWS<CardInfo>({ type: "hems/card_info", config_entry_id: entry }).catch(() => null),
      ]);
      this._plan = plan.response;
      this._info = info;
      this._error = undefined;
    } catch (err) {
      this._error = this._t("error", { error: (err as { message?: string }).message ?? String(err) });
    } finally {
      this._loading = false;
    }
  }

  private async _boost(car: string, on: boolean): Promise<void> {
    if (!this.hass || !this._entryId) return;
    this._busy = true;
    try {
      await this.hass.callService("hems", on ? "start_boost" : "cancel_boost", {
        config_entry_id: this._entryId,
        car,
      });
      this._error = undefined;
    } catch (err) {
      this._error = (err as { message?: string }).message ?? String(err);
    } finally {
      this._busy = false;
      void this._load();
    }
  }

  private _names(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this._info?.storages ?? []) if (s.kind === "battery") out[s.name] = this._t("battery");
    for (const a of this._plan?.plan?.assets ?? []) if (a.kind === "battery") out[a.name] = this._t("battery");
    return out;
  }

  private _model(): ChartModel | null {
    return prepare(this._plan ?? null, this._info ?? null, {
      now: Date.now(),
      hours: this._config?.hours,
      timeZone: this.hass?.config?.time_zone,
    });
  }

  private _status(): TemplateResult {
    const word = statusOf(this.hass?.states ?? {}, this._info ?? null);
    const key = `status.${word}` as Key;
    const cls = word === "fail_safe" || word === "island" ? "bad" : word === "boost" ? "boost" : "";
    return html`<span class="status ${cls}" data-status=${word}>${this._t(key) === key ? word : this._t(key)}</span>`;
  }

  private _cars(m: ChartModel | null): TemplateResult[] {
    const t = this._t;
    const cars = (this._plan?.plan?.assets ?? this._info?.storages ?? []).filter((a) => a.kind === "ev");
    return cars.map((c) => {
      const on = boosting(this.hass?.states ?? {}, this._info ?? null, c.name);
      const series = m?.assets.find((a) => a.name === c.name);
      const tz = this.hass?.config?.time_zone;
      const dep = series?.targets[0];
      const when = dep
        ? new Intl.DateTimeFormat(this._lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz }).format(new Date(dep.t))
        : "";
      const pct = (v: number | null | undefined): string => (v == null ? "–" : `${Math.round(v * 100)} %`);
      return html`<div class="car" data-car=${c.name}>
        <div class="carline">
          <b>${c.name}</b>
          <span class="soc-now">${this._t("soc")} ${pct(series?.liveSoc)}</span>
          ${dep
            ? html`<span class="dep-text ${dep.reached ? "ok" : "short"}"
                >${t("departure", { time: when, target: pct(dep.target), planned: pct(dep.planned) })}
                ${dep.reached ? "✓ " + t("departure_ok") : "✗ " + t("departure_short")}</span
              >`
            : nothing}
        </div>
        <button
          class="boost ${on ? "active" : ""}"
          ?disabled=${this._busy}
          @click=${() => void this._boost(c.name, !on)}
          data-action=${on ? "cancel_boost" : "start_boost"}
        >
          ${on ? t("cancel_boost") : t("boost")}
        </button>
      </div>`;
    });
  }

  protected override render(): TemplateResult {
    const t = this._t;
    const cfg = this._config ?? ({ type: "" } as CardConfig);
    const m = this._model();
    const boosted = (this._plan?.plan?.assets ?? []).filter(
      (a) => a.kind === "ev" && boosting(this.hass?.states ?? {}, this._info ?? null, a.name),
    );
    // A boost overrides the plan's step: say so rather than the plan's reason for it.
    const reason = boosted.length
      ? t("reason.boost", { name: boosted.map((a) => a.name).join(", ") })
      : m?.reason
        ? reasonText(m.reason, this._lang, this._names())
        : null;
    let body: TemplateResult;
    if (m) {
      body = html`<div class="chartbox">
        ${renderChart(m, {
          width: this._width - 18,
          lang: this._lang,
          t,
          timeZone: this.hass?.config?.time_zone,
          showPrices: cfg.show_prices !== false,
          showForecast: cfg.show_forecast !== false,
          showGrid: cfg.show_grid !== false,
          names: this._names(),
        })}
      </div>`;
    } else if (this._plan === undefined && !this._error) {
      body = html`<div class="msg">${t("loading")}</div>`;
    } else {
      body = html`<div class="msg">${this._plan ? t("no_plan") : nothing}</div>`;
    }
    return html`<ha-card>
      <div class="head">
        <span class="title">${cfg.title ?? this._info?.title ?? t("title")}</span>
        ${this._status()}
      </div>
      ${reason ? html`<div class="reason"><b>${t("reason_now")}:</b> <span class="reason-text">${reason}</span></div>` : nothing}
      ${this._cars(m)}
      ${this._error ? html`<div class="error">${this._error}</div>` : nothing}
      ${body}
    </ha-card>`;
  }

  static override styles = css`
    :host {
      display: block;
      --hems-import: var(--energy-grid-consumption-color, #488fc2);
      --hems-export: var(--energy-grid-return-color, #8353d1);
      --hems-pv: var(--energy-solar-color, #ff9800);
      --hems-charge: var(--energy-battery-in-color, #f06292);
      --hems-discharge: var(--energy-battery-out-color, #4db6ac);
      --hems-soc: var(--primary-color, #03a9f4);
      --hems-budget: var(--error-color, #db4437);
      --hems-ok: var(--success-color, #43a047);
    }
    ha-card {
      display: block;
      padding: 12px 8px 8px;
      overflow: hidden;
      color: var(--primary-text-color);
      background: var(--ha-card-background, var(--card-background-color, #fff));
    }
    .head { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 0 8px 6px; }
    .title { font-size: 1.2em; font-weight: 500; }
    .status {
      font-size: 0.85em; padding: 2px 10px; border-radius: 12px;
      background: var(--secondary-background-color, #eee); color: var(--primary-text-color); white-space: nowrap;
    }
    .status.boost { background: var(--hems-charge); color: #fff; }
    .status.bad { background: var(--hems-budget); color: #fff; }
    .reason { padding: 0 8px 6px; font-size: 0.92em; color: var(--secondary-text-color); }
    .car { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 4px 8px; flex-wrap: wrap; }
    .carline { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; font-size: 0.92em; min-width: 0; flex: 1 1 200px; }
    .dep-text.ok { color: var(--hems-ok); }
    .dep-text.short { color: var(--hems-budget); }
    button.boost {
      font: inherit; font-weight: 500; border: none; border-radius: 18px; padding: 6px 16px; cursor: pointer;
      background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); min-height: 36px;
    }
    button.boost.active { background: var(--secondary-background-color, #ddd); color: var(--primary-text-color); }
    button.boost[disabled] { opacity: 0.6; cursor: progress; }
    .error { color: var(--error-color, #db4437); padding: 4px 8px; font-size: 0.9em; }
    .msg { padding: 16px 8px; color: var(--secondary-text-color); }
    .chartbox { width: 100%; overflow: hidden; }
    svg.chart { display: block; font-family: inherit; }
    svg .ptitle { font-size: 11px; fill: var(--secondary-text-color); }
    svg .tick { font-size: 10px; fill: var(--secondary-text-color); }
    svg .pframe { fill: none; stroke: var(--divider-color, rgba(127, 127, 127, 0.3)); }
    svg .grid { stroke: var(--divider-color, rgba(127, 127, 127, 0.3)); stroke-dasharray: 2 3; }
    svg .zero { stroke: var(--secondary-text-color); stroke-width: 0.6; opacity: 0.6; }
    svg .line { fill: none; stroke-width: 1.6; }
    svg .imp { stroke: var(--hems-import); }
    svg .exp { stroke: var(--hems-export); stroke-dasharray: 5 2; }
    svg .pv { fill: var(--hems-pv); opacity: 0.45; stroke: var(--hems-pv); }
    svg .load { stroke: var(--primary-text-color); opacity: 0.8; }
    svg .import { fill: var(--hems-import); }
    svg .export { fill: var(--hems-export); }
    svg .charge { fill: var(--hems-charge); }
    svg .discharge { fill: var(--hems-discharge); }
    svg .budget { fill: none; stroke: var(--hems-budget); stroke-width: 1.5; stroke-dasharray: 6 3; }
    svg .soc { fill: none; stroke: var(--hems-soc); stroke-width: 2.2; }
    svg .minsoc { stroke: var(--hems-budget); stroke-width: 1; stroke-dasharray: 3 3; opacity: 0.8; }
    svg .dep { stroke: var(--primary-text-color); stroke-width: 1; stroke-dasharray: 1 2; }
    svg .target.ok .mark { fill: var(--hems-ok); }
    svg .target.short .mark { fill: var(--hems-budget); }
    svg .tlabel { font-size: 10px; fill: var(--primary-text-color); }
    svg .now line { stroke: var(--primary-text-color); stroke-width: 1.5; }
    svg .now text { font-size: 10px; font-weight: bold; fill: var(--primary-text-color); }
  `;
}

if (!customElements.get(CARD_TAG)) customElements.define(CARD_TAG, HemsPlanCard);

declare global {
  interface Window {
    customCards?: { type: string; name: string; description: string; preview?: boolean }[];
  }
}

window.customCards = window.customCards ?? [];
if (!window.customCards.some((c) => c.type === CARD_TAG)) {
  const t = translator(pickLanguage(navigator.language));
  window.customCards.push({ type: CARD_TAG, name: t("card_name"), description: t("card_description"), preview: true });
}
