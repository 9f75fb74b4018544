// The layers and their arrows (docs/architecture.md). `npm test` runs this; a forbidden import or a
// cycle fails the build.
/** @type {import('dependency-cruiser').IConfiguration} */
const layer = (name) => `^src/${name}/`;
const forbid = (name, from, to, comment) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle makes two modules one: neither can be understood, tested or loaded alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    forbid('common-is-the-bottom', layer('common'), '^src/(?!common/)', 'src/common is used by every layer and uses none.'),
    forbid('db-below-domains', layer('db'), '^src/(?!db/|common/)', 'src/db (migrations, group commit) knows no domain.'),
    forbid(
      'serial-knows-no-domain',
      layer('serial'),
      '^src/(pairing|station|audit|api|sync|sim|cli)/',
      'The device protocol is hardware-level.',
    ),
    forbid(
      'pairing-is-a-core',
      layer('pairing'),
      '^(src/(station|serial|api|sim|sync|cli)/|electron/|renderer/)',
      'The pairing core runs without a station.',
    ),
    forbid(
      'audit-knows-no-station',
      layer('audit'),
      '^src/(station|api|sync|cli|sim)/',
      'The trail records; it does not run the line.',
    ),
    forbid(
      'station-below-transports',
      layer('station'),
      '^(src/(api|sync|cli)/|electron/|renderer/)',
      'The station is driven by its shells, never the reverse.',
    ),
    forbid(
      'sync-below-transports',
      layer('sync'),
      '^(src/(api|cli)/|electron/|renderer/)',
      'Sync is driven by the API and the CLI.',
    ),
    forbid(
      'sim-is-a-device',
      layer('sim'),
      '^src/(pairing|station|audit|api|sync|cli)/',
      'Simulators speak the device protocol and nothing else.',
    ),
    forbid('api-below-shells', layer('api'), '^(src/cli/|electron/|renderer/)', 'The API is carried by the shells.'),
    forbid(
      'src-is-product',
      '^src/',
      '^(test|fixtures|bench|electron|renderer)/',
      'Product code never imports tests, fixtures or shells.',
    ),
    forbid('src-without-electron', '^src/', '^electron$|node_modules/electron/', 'src/ runs under plain Node.'),
    {
      name: 'renderer-sees-only-api-types',
      comment:
        'The renderer talks only to the typed station API: type imports from src/api/station-api.ts, plus ' +
        'its HTTP carrier in web mode (http-station-client.ts and the route table it reads, api-routes.ts: ' +
        'fetch-only, shared with the Electron main process, so it has one home).',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^src/', pathNot: '^src/api/(station-api|http-station-client|api-routes)\\.ts$' },
    },
    {
      name: 'renderer-station-api-types-only',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^src/api/station-api\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    forbid('renderer-without-node', '^renderer/', '^(node:|fs$|path$|child_process$)', 'The renderer runs sandboxed.'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|renderer/dist)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
