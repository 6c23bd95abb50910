/** Labels in en/nl/de/sv, and the planner's English step reasons put into words per language. */

export const LANGUAGES = ["en", "nl", "de", "sv"] as const;
export type Language = (typeof LANGUAGES)[number];

const en = {
  card_name: "HEMS plan",
  card_description: "What the cars and the house will do, why, and a Boost button",
  title: "Energy plan",
  loading: "Loading the plan…",
  no_plan: "No plan yet: the rule-based fallback is running",
  no_site: "No HEMS site found",
  error: "Could not load the plan: {error}",
  now: "now",
  reason_now: "Now",
  prices: "Price (€/kWh)",
  import_price: "Import",
  export_price: "Export",
  forecast: "PV and load (kW)",
  pv: "PV",
  load: "Load",
  grid: "Grid (kW, import ↑ export ↓)",
  peak_budget: "Peak budget",
  power: "Power",
  charge_discharge: "kW, charge ↑ discharge ↓",
  soc: "SoC",
  min_soc: "Minimum",
  target: "Target",
  departure: "Departure {time}: {target} (plan {planned})",
  departure_ok: "reached",
  departure_short: "short",
  boost: "Boost",
  cancel_boost: "Cancel boost",
  battery: "Home battery",
  "status.waiting_for_data": "Waiting for data",
  "status.planning": "Planning",
  "status.following_plan": "Tracking the plan",
  "status.fallback": "Fallback rules",
  "status.boost": "Boost",
  "status.fail_safe": "Fail-safe",
  "status.island": "Island (grid down)",
  "status.off": "Off",
  "status.unknown": "Unknown",
  "editor.config_entry_id": "HEMS site",
  "editor.title": "Title",
  "editor.hours": "Hours ahead",
  "editor.show_prices": "Show prices",
  "editor.show_forecast": "Show PV and load",
  "editor.show_grid": "Show grid exchange",
  // Step reasons (from hems_core's planner)
  "reason.hold": "Holding: nothing worth doing",
  "reason.boost": "Boost: charging {name} at full power; the plan resumes after it",
  "reason.charge": "Charging {name}: {why} ({price})",
  "reason.discharge": "Discharging {name}: {why} ({price})",
  "reason.curtail": "Curtailing PV (export {price})",
  "reason.peak": "Import held at the month's peak",
  "reason.shed": "Load above the grid limit: shed {kw}",
  "why.PV surplus": "PV surplus",
  "why.cheap import": "cheap import",
  "why.departure target": "for the departure target",
  "why.price": "price",
  "why.to other storage": "into other storage",
  "why.peak shaving": "peak shaving",
  "why.expensive import": "expensive import",
  "why.cover load": "covering the house load",
};

export type Key = keyof typeof en;
type Dict = Record<Key, string>;

const nl: Dict = {
  card_name: "HEMS-plan",
  card_description: "Wat de auto's en het huis gaan doen, waarom, en een Boost-knop",
  title: "Energieplan",
  loading: "Plan laden…",
  no_plan: "Nog geen plan: de regels als terugval draaien",
  no_site: "Geen HEMS-locatie gevonden",
  error: "Plan laden mislukt: {error}",
  now: "nu",
  reason_now: "Nu",
  prices: "Prijs (€/kWh)",
  import_price: "Afname",
  export_price: "Teruglevering",
  forecast: "Zon en verbruik (kW)",
  pv: "Zon",
  load: "Verbruik",
  grid: "Net (kW, afname ↑ teruglevering ↓)",
  peak_budget: "Piekbudget",
  power: "Vermogen",
  charge_discharge: "kW, laden ↑ ontladen ↓",
  soc: "Laadtoestand",
  min_soc: "Minimum",
  target: "Doel",
  departure: "Vertrek {time}: {target} (plan {planned})",
  departure_ok: "gehaald",
  departure_short: "te weinig",
  boost: "Boost",
  cancel_boost: "Boost stoppen",
  battery: "Thuisbatterij",
  "status.waiting_for_data": "Wacht op gegevens",
  "status.planning": "Plannen",
  "status.following_plan": "Volgt het plan",
  "status.fallback": "Terugvalregels",
  "status.boost": "Boost",
  "status.fail_safe": "Noodstand",
  "status.island": "Eilandbedrijf (net weg)",
  "status.off": "Uit",
  "status.unknown": "Onbekend",
  "editor.config_entry_id": "HEMS-locatie",
  "editor.title": "Titel",
  "editor.hours": "Uren vooruit",
  "editor.show_prices": "Prijzen tonen",
  "editor.show_forecast": "Zon en verbruik tonen",
  "editor.show_grid": "Netuitwisseling tonen",
  "reason.hold": "Wachten: niets de moeite waard",
  "reason.boost": "Boost: {name} laadt op vol vermogen; daarna gaat het plan verder",
  "reason.charge": "{name} laden: {why} ({price})",
  "reason.discharge": "{name} ontladen: {why} ({price})",
  "reason.curtail": "Zonnestroom beperkt (teruglevering {price})",
  "reason.peak": "Afname op de maandpiek gehouden",
  "reason.shed": "Verbruik boven de netlimiet: {kw} afschakelen",
  "why.PV surplus": "zonne-overschot",
  "why.cheap import": "goedkope afname",
  "why.departure target": "voor het vertrekdoel",
  "why.price": "prijs",
  "why.to other storage": "naar andere opslag",
  "why.peak shaving": "piek afvlakken",
  "why.expensive import": "dure afname",
  "why.cover load": "dekt het huisverbruik",
};

const de: Dict = {
  card_name: "HEMS-Plan",
  card_description: "Was Autos und Haus tun werden, warum, und ein Boost-Knopf",
  title: "Energieplan",
  loading: "Plan wird geladen…",
  no_plan: "Noch kein Plan: die Rückfallregeln laufen",
  no_site: "Kein HEMS-Standort gefunden",
  error: "Plan konnte nicht geladen werden: {error}",
  now: "jetzt",
  reason_now: "Jetzt",
  prices: "Preis (€/kWh)",
  import_price: "Bezug",
  export_price: "Einspeisung",
  forecast: "PV und Verbrauch (kW)",
  pv: "PV",
  load: "Verbrauch",
  grid: "Netz (kW, Bezug ↑ Einspeisung ↓)",
  peak_budget: "Spitzenbudget",
  power: "Leistung",
  charge_discharge: "kW, Laden ↑ Entladen ↓",
  soc: "Ladestand",
  min_soc: "Minimum",
  target: "Ziel",
  departure: "Abfahrt {time}: {target} (Plan {planned})",
  departure_ok: "erreicht",
  departure_short: "zu wenig",
  boost: "Boost",
  cancel_boost: "Boost abbrechen",
  battery: "Hausbatterie",
  "status.waiting_for_data": "Wartet auf Daten",
  "status.planning": "Plant",
  "status.following_plan": "Folgt dem Plan",
  "status.fallback": "Rückfallregeln",
  "status.boost": "Boost",
  "status.fail_safe": "Sicherheitsmodus",
  "status.island": "Inselbetrieb (Netz weg)",
  "status.off": "Aus",
  "status.unknown": "Unbekannt",
  "editor.config_entry_id": "HEMS-Standort",
  "editor.title": "Titel",
  "editor.hours": "Stunden voraus",
  "editor.show_prices": "Preise zeigen",
  "editor.show_forecast": "PV und Verbrauch zeigen",
  "editor.show_grid": "Netzaustausch zeigen",
  "reason.hold": "Halten: nichts lohnt sich",
  "reason.boost": "Boost: {name} lädt mit voller Leistung; danach geht der Plan weiter",
  "reason.charge": "{name} laden: {why} ({price})",
  "reason.discharge": "{name} entladen: {why} ({price})",
  "reason.curtail": "PV abgeregelt (Einspeisung {price})",
  "reason.peak": "Bezug auf der Monatsspitze gehalten",
  "reason.shed": "Verbrauch über dem Netzlimit: {kw} abwerfen",
  "why.PV surplus": "PV-Überschuss",
  "why.cheap import": "günstiger Bezug",
  "why.departure target": "für das Abfahrtsziel",
  "why.price": "Preis",
  "why.to other storage": "in anderen Speicher",
  "why.peak shaving": "Spitzenkappung",
  "why.expensive import": "teurer Bezug",
  "why.cover load": "deckt den Hausverbrauch",
};

const sv: Dict = {
  card_name: "HEMS-plan",
  card_description: "Vad bilarna och huset kommer att göra, varför, och en Boost-knapp",
  title: "Energiplan",
  loading: "Laddar planen…",
  no_plan: "Ingen plan än: reservreglerna körs",
  no_site: "Ingen HEMS-anläggning hittades",
  error: "Kunde inte ladda planen: {error}",
  now: "nu",
  reason_now: "Nu",
  prices: "Pris (€/kWh)",
  import_price: "Köp",
  export_price: "Sälj",
  forecast: "Sol och förbrukning (kW)",
  pv: "Sol",
  load: "Förbrukning",
  grid: "Nät (kW, köp ↑ sälj ↓)",
  peak_budget: "Effekttak",
  power: "Effekt",
  charge_discharge: "kW, laddning ↑ urladdning ↓",
  soc: "Laddnivå",
  min_soc: "Minimum",
  target: "Mål",
  departure: "Avresa {time}: {target} (plan {planned})",
  departure_ok: "nås",
  departure_short: "för lite",
  boost: "Boost",
  cancel_boost: "Avbryt boost",
  battery: "Hembatteri",
  "status.waiting_for_data": "Väntar på data",
  "status.planning": "Planerar",
  "status.following_plan": "Följer planen",
  "status.fallback": "Reservregler",
  "status.boost": "Boost",
  "status.fail_safe": "Felsäkert läge",
  "status.island": "Ö-drift (nätet borta)",
  "status.off": "Av",
  "status.unknown": "Okänt",
  "editor.config_entry_id": "HEMS-anläggning",
  "editor.title": "Titel",
  "editor.hours": "Timmar framåt",
  "editor.show_prices": "Visa priser",
  "editor.show_forecast": "Visa sol och förbrukning",
  "editor.show_grid": "Visa nätutbyte",
  "reason.hold": "Väntar: inget lönar sig",
  "reason.boost": "Boost: {name} laddar med full effekt; sedan fortsätter planen",
  "reason.charge": "Laddar {name}: {why} ({price})",
  "reason.discharge": "Laddar ur {name}: {why} ({price})",
  "reason.curtail": "Begränsar solel (sälj {price})",
  "reason.peak": "Köp hålls vid månadens topp",
  "reason.shed": "Förbrukning över nätgränsen: koppla bort {kw}",
  "why.PV surplus": "solöverskott",
  "why.cheap import": "billigt köp",
  "why.departure target": "för avresemålet",
  "why.price": "pris",
  "why.to other storage": "till annat lager",
  "why.peak shaving": "toppkapning",
  "why.expensive import": "dyrt köp",
  "why.cover load": "täcker husets förbrukning",
};

export const DICTS: Record<Language, Dict> = { en, nl, de, sv };

/** "nl-BE" -> "nl"; anything unknown -> "en". */
export function pickLanguage(lang: string | undefined): Language {
  const base = (lang ?? "en").toLowerCase().split(/[-_]/)[0];
  return (LANGUAGES as readonly string[]).includes(base) ? (base as Language) : "en";
}

export type Translate = (key: Key, vars?: Record<string, string>) => string;

export function translator(lang: Language): Translate {
  const dict = DICTS[lang];
  return (key, vars) => {
    const text = dict[key] ?? en[key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m) : text;
  };
}

function fmt(lang: Language, value: number, digits: number): string {
  return new Intl.NumberFormat(lang, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatPrice(lang: Language, eurPerKwh: number): string {
  return `${fmt(lang, eurPerKwh, 3)} €/kWh`;
}

export function formatKw(lang: Language, kw: number): string {
  return `${fmt(lang, kw, Math.abs(kw) < 10 ? 1 : 0)} kW`;
}

export function formatPct(lang: Language, frac: number): string {
  return `${fmt(lang, frac * 100, 0)} %`;
}

const CHARGE = /^charge (.+) \(([^,]+), (-?[\d.]+) EUR\/kWh\)$/;
const DISCHARGE = /^discharge (.+) \(([^,]+), (-?[\d.]+) EUR\/kWh\)$/;
const CURTAIL = /^curtail PV \(export (-?[\d.]+) EUR\/kWh\)$/;
const SHED = /^load above the grid limit: shed (-?[\d.]+) kW$/;

/**
 * The planner's reason for a step ("charge Car (cheap import, 0.252 EUR/kWh); ...") in words of
 * `lang`. Parts it does not know are kept as they are, so a new reason is never lost.
 */
export function reasonText(reason: string, lang: Language, names?: Record<string, string>): string {
  const t = translator(lang);
  const name = (n: string): string => names?.[n] ?? n;
  const why = (w: string): string => {
    const key = `why.${w}` as Key;
    return key in en ? t(key) : w;
  };
  const parts = reason.split("; ").map((part) => {
    let m: RegExpMatchArray | null;
    if (part === "hold") return t("reason.hold");
    if (part === "import held at the month peak") return t("reason.peak");
    if ((m = part.match(CHARGE))) {
      return t("reason.charge", { name: name(m[1]), why: why(m[2]), price: formatPrice(lang, Number(m[3])) });
    }
    if ((m = part.match(DISCHARGE))) {
      return t("reason.discharge", { name: name(m[1]), why: why(m[2]), price: formatPrice(lang, Number(m[3])) });
    }
    if ((m = part.match(CURTAIL))) return t("reason.curtail", { price: formatPrice(lang, Number(m[1])) });
    if ((m = part.match(SHED))) return t("reason.shed", { kw: formatKw(lang, Number(m[1])) });
    return part;
  });
  return parts.join("; ");
}
