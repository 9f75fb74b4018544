// Web mode as a process of its own, for tests that kill it (-9) or freeze it (SIGSTOP) and start it
// again: same data folder, port and session token from the environment. Prints "READY <port>".
import { startWebMode } from '../../src/api/web-mode.ts';

const mode = await startWebMode({
  dataDir: process.env.IMPRINT_TEST_DATA ?? '',
  port: Number(process.env.IMPRINT_TEST_PORT ?? 0),
  token: process.env.IMPRINT_TEST_TOKEN,
  simulate: { fixtures: 2, swapDelayMs: 1500, faultRate: 0 },
  env: { IMPRINT_ADMIN_PIN: '482915' },
});
console.log(`READY ${mode.web.port}`);
process.once('SIGTERM', () => {
  void mode.close().then(() => process.exit(0));
});
