/**
 * The visual editor: Home Assistant's own <ha-form> with a config-entry selector for the site,
 * so it looks like every built-in card editor and needs no widgets of its own.
 */
import { LitElement, html, type TemplateResult } from "lit";
import { pickLanguage, translator, type Key } from "./i18n";
import type { CardConfig, Hass } from "./types";

export const SCHEMA = [
  { name: "config_entry_id", selector: { config_entry: { integration: "hems" } } },
  { name: "title", selector: { text: {} } },
  { name: "hours", selector: { number: { min: 6, max: 48, step: 6, mode: "slider" } } },
  {
    type: "grid",
    name: "",
    schema: [
      { name: "show_prices", selector: { boolean: {} } },
      { name: "show_forecast", selector: { boolean: {} } },
      { name: "show_grid", selector: { boolean: {} } },
    ],
  },
];

export class HemsPlanCardEditor extends LitElement {
  static override properties = { hass: { attribute: false }, _config: { state: true } };

  hass?: Hass;
  _config?: CardConfig;

  setConfig(config: CardConfig): void {
    this._config = config;
  }

  private _label = (s: { name: string }): string => {
    const t = translator(pickLanguage(this.hass?.locale?.language ?? this.hass?.language));
    return t(`editor.${s.name}` as Key);
  };

  private _changed(ev: CustomEvent<{ value: CardConfig }>): void {
    ev.stopPropagation();
    const config = { ...ev.detail.value };
    this._config = config;
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
  }

  protected override render(): TemplateResult {
    return html`<ha-form
      .hass=${this.hass}
      .data=${{ hours: 24, show_prices: true, show_forecast: true, show_grid: true, ...this._config }}
      .schema=${SCHEMA}
      .computeLabel=${this._label}
      @value-changed=${this._changed}
    ></ha-form>`;
  }
}

if (!customElements.get("hems-plan-card-editor")) customElements.define("hems-plan-card-editor", HemsPlanCardEditor);
