// Web mode as a process of its own, for tests that kill it (-9) or freeze it (SIGSTOP) and start it
// again: same data folder and port from the environment; the session token kept in the data folder
// (IMPRINT_TEST_NEW_TOKEN=1 replaces it, as `imprint web --new-token`). Prints "READY <port> <token>".
import { startWebMode } from '../../src/api/web-mode.ts';

const mode = await startWebMode({
  dataDir: process.env.IMPRINT_TEST_DATA ?? '',
  port: Number(process.env.IMPRINT_TEST_PORT ?? 0),
  newToken: process.env.IMPRINT_TEST_NEW_TOKEN === '1',
  simulate: { fixtures: 2, swapDelayMs: 1500, faultRate: 0 },
  env: { IMPRINT_ADMIN_PIN: '482915' },
});
console.log(`READY ${mode.web.port} ${mode.web.token}`);
process.once('SIGTERM', () => {
  void mode.close().then(() => process.exit(0));
});
