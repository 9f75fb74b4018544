// sota.toml for aktualizr-lite, as Foundries' factory-registration-ref renders it: the default
// sections, then the device's `overrides` (section → key → TOML value text, "" or null = unset).
export type SotaOverrides = Record<string, Record<string, string | null>>;

// At module level: tsx names a closure with Object.defineProperty each time it is made.
const q = (v: string) => `"${v}"`;

function defaults(gateway: string, sotaDir: string, hardwareId: string): Map<string, Map<string, string | null>> {
  return new Map([
    [
      'tls',
      new Map([
        ['server', q(gateway)],
        ['ca_source', q('file')],
        ['pkey_source', q('file')],
        ['cert_source', q('file')],
      ]),
    ],
    [
      'provision',
      new Map([
        ['server', q(gateway)],
        ['primary_ecu_hardware_id', q(hardwareId)],
      ]),
    ],
    [
      'uptane',
      new Map([
        ['repo_server', q(`${gateway}/repo`)],
        ['key_source', q('file')],
      ]),
    ],
    [
      'pacman',
      new Map([
        ['type', q('ostree+compose_apps')],
        ['ostree_server', q(`${gateway}/treehub`)],
        ['compose_apps_root', q(`${sotaDir}/compose-apps`)],
      ]),
    ],
    [
      'storage',
      new Map([
        ['type', q('sqlite')],
        ['path', q(`${sotaDir}/`)],
      ]),
    ],
    [
      'import',
      new Map([
        ['tls_cacert_path', q(`${sotaDir}/root.crt`)],
        ['tls_pkey_path', q(`${sotaDir}/pkey.pem`)],
        ['tls_clientcert_path', q(`${sotaDir}/client.pem`)],
      ]),
    ],
  ]);
}

/** The text of sota.toml. Inputs are validated by the caller (no newline can reach a value). */
export function renderSotaToml(o: {
  gatewayUrl: string;
  sotaConfigDir: string;
  hardwareId: string;
  overrides?: SotaOverrides;
}): string {
  const sections = defaults(o.gatewayUrl.replace(/\/+$/, ''), o.sotaConfigDir.replace(/\/+$/, ''), o.hardwareId);
  for (const [section, entries] of Object.entries(o.overrides ?? {})) {
    let s = sections.get(section);
    if (!s) {
      s = new Map();
      sections.set(section, s);
    }
    for (const [k, v] of Object.entries(entries)) s.set(k, v);
  }
  const lines: string[] = [];
  for (const [section, entries] of sections) {
    lines.push(`[${section}]`);
    for (const [k, v] of entries) lines.push(v === null || v === '' ? `# ${k} is not set` : `${k} = ${v}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
