// Headless Debian Chromium through playwright-core, for the UI tests. Screenshots go to
// test-artifacts/ui/ (gitignored) so a person can look at every view after a run.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.IMPRINT_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', 'test-artifacts', 'ui');

// In CI nothing skips (test/helpers/service-skip.ts): a missing Chromium fails the tests that need it.
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH) || process.env.CI === 'true';
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** The whole page by default; `fold: true` keeps to the window, to show what is above the fold. */
export async function screenshot(page: Page, name: string, opts: { fold?: boolean } = {}): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: !opts.fold });
}

/** Opens the Settings view (F4) and unlocks it with the admin PIN, as an admin at the station would. */
export async function unlockSettings(page: Page, adminPin: string): Promise<void> {
  await page.keyboard.press('F4');
  await page.getByTestId('admin-pin').fill(adminPin);
  await page.getByTestId('admin-pin').press('Enter');
  await page.getByTestId('running-now').waitFor();
}
