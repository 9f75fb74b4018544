// Shapes of the plant features a station offers around its line: failures held until acknowledged,
// recent failures, label printing and the post-PASS hook, and where the line's fixtures come from.
export interface HeldFailure {
  deviceId?: string;
  hardwareSerial?: string;
  /** The failure as the card shows it (code, message, what to do). */
  failure: { code: string; message: string; action: string };
  at: string;
}

export interface RecentFailure extends HeldFailure {
  fixtureId: string;
}

export interface LineSource {
  /** configured: the fixtures of the settings; simulated-no-fixtures: none configured; simulated-option: --simulate overrides them. */
  source: 'configured' | 'simulated-no-fixtures' | 'simulated-option';
  configuredFixtures: number;
}

export type LabelPrinterSettings = { kind: 'tcp'; host: string; port?: number } | { kind: 'cups'; queue: string };

export interface PostPassHookSettings {
  /** The program and its arguments (no shell). */
  command: string[];
  /** Killed after this long (default 10 s). */
  timeoutMs?: number;
}
