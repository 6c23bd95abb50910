import { describe, expect, it } from "vitest";
import { DICTS, LANGUAGES, pickLanguage, reasonText, translator } from "../src/i18n";

describe("translations", () => {
  it("every language has every English key, none empty", () => {
    const keys = Object.keys(DICTS.en);
    for (const lang of LANGUAGES) {
      expect(Object.keys(DICTS[lang]).sort()).toEqual([...keys].sort());
      for (const k of keys) expect(DICTS[lang][k as keyof typeof DICTS.en].length).toBeGreaterThan(0);
    }
  });

  it("labels differ from English where the word differs", () => {
    expect(translator("nl")("status.following_plan")).toBe("Volgt het plan");
    expect(translator("de")("cancel_boost")).toBe("Boost abbrechen");
    expect(translator("sv")("status.island")).toBe("Ö-drift (nätet borta)");
  });

  it("picks the base language and falls back to English", () => {
    expect(pickLanguage("nl-BE")).toBe("nl");
    expect(pickLanguage("de_AT")).toBe("de");
    expect(pickLanguage("fr")).toBe("en");
    expect(pickLanguage(undefined)).toBe("en");
  });

  it("says what a boost does in every language", () => {
    expect(translator("nl")("reason.boost", { name: "Car" })).toContain("Car laadt op vol vermogen");
    expect(translator("de")("reason.boost", { name: "Car" })).toContain("Car lädt");
  });

  it("fills placeholders", () => {
    expect(translator("en")("error", { error: "boom" })).toBe("Could not load the plan: boom");
  });

  it("puts the planner's reasons into words, with local decimals", () => {
    const r = "charge Car (cheap import, 0.252 EUR/kWh); import held at the month peak";
    expect(reasonText(r, "en")).toBe("Charging Car: cheap import (0.252 €/kWh); Import held at the month's peak");
    expect(reasonText(r, "nl")).toBe("Car laden: goedkope afname (0,252 €/kWh); Afname op de maandpiek gehouden");
    expect(reasonText("discharge battery (cover load, 0.308 EUR/kWh)", "de")).toBe(
      "battery entladen: deckt den Hausverbrauch (0,308 €/kWh)",
    );
    expect(reasonText("hold", "sv")).toBe("Väntar: inget lönar sig");
    expect(reasonText("curtail PV (export -0.010 EUR/kWh)", "en")).toBe("Curtailing PV (export -0.010 €/kWh)");
    expect(reasonText("load above the grid limit: shed 1.25 kW", "en")).toBe("Load above the grid limit: shed 1.3 kW");
  });

  it("keeps a reason it does not know word for word", () => {
    expect(reasonText("something new; hold", "nl")).toBe("something new; Wachten: niets de moeite waard");
    expect(reasonText("charge Car (a new why, 0.100 EUR/kWh)", "en")).toBe("Charging Car: a new why (0.100 €/kWh)");
  });

  it("names storages with the names given", () => {
    expect(reasonText("discharge battery (peak shaving, 0.300 EUR/kWh)", "en", { battery: "Home battery" })).toBe(
      "Discharging Home battery: peak shaving (0.300 €/kWh)",
    );
  });
});
