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

/**
 * The zone as people name it, and its offset at that moment: "EST, UTC-05:00" where the locale
 * has an abbreviation, else the zone's id: "Europe/Berlin, UTC+01:00".
 */
export function zoneOf(iso?: string): string {
  const d = iso ? new Date(iso) : new Date();
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const utc = `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  const short =
    new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')
      ?.value ?? '';
  if (short === 'UTC' && offset === 0) return 'UTC';
  if (/^[A-Z]{2,5}$/.test(short)) return `${short}, ${utc}`;
  const id = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return id && id !== 'UTC' ? `${id}, ${utc}` : utc;
}

/** For a column header: "EST" where the locale has an abbreviation, else "UTC+01:00". */
export function zoneShort(iso?: string): string {
  const full = zoneOf(iso);
  return /^[A-Z]{2,5},/.test(full) ? full.split(',')[0] : full.replace(/^.*, /, '');
}

/** "2026-11-23 05:04:09 (CET, UTC+01:00)". */
export function localTimeWithZone(iso: string | undefined): string {
  return iso ? `${localTime(iso)} (${zoneOf(iso)})` : '';
}
