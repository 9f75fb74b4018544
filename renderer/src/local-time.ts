// Times as the people at the station read them: local, with the zone said. The trail stores UTC
// (ISO 8601); the detail panel shows both.
const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-11-23 05:04:09" in this computer's time zone. */
export function localTime(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The zone's short name at that moment and its offset: "CET, UTC+01:00". */
export function zoneOf(iso?: string): string {
  const d = iso ? new Date(iso) : new Date();
  const name =
    new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')
      ?.value ?? '';
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const utc = `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  if (name === 'UTC' && offset === 0) return 'UTC';
  return name && !/^(GMT|UTC)/.test(name) ? `${name}, ${utc}` : utc;
}

/** "2026-11-23 05:04:09 (CET, UTC+01:00)". */
export function localTimeWithZone(iso: string | undefined): string {
  return iso ? `${localTime(iso)} (${zoneOf(iso)})` : '';
}
