// What follows a PASS when the plant configured it: a label to the printer, then the post-PASS
// hook. Neither ever changes the device's verdict: each outcome is audited (`label-print`,
// `post-pass-hook`; a failure with its code and why) and shown on the fixture's card.
import type { AuditEventInput } from '../audit/audit-types.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { DEFAULT_LABEL_TEMPLATE, renderLabel, sendLabel } from './label-printer.ts';
import type { LabelPrinterSettings, PostPassHookSettings } from './plant-types.ts';
import { type HookFields, type HookResult, runPostPassHook } from './post-pass-hook.ts';
import { StationError } from './station-errors.ts';

export interface PostPassConfig {
  labelPrinter?: LabelPrinterSettings;
  labelTemplate?: string;
  postPassHook?: PostPassHookSettings;
}

export interface PassedDevice extends HookFields {}

export interface PostPassReport {
  labelPrint?: 'printed' | 'failed';
  hook?: HookResult;
}

export class PostPassActions {
  private readonly log: Logger;

  constructor(
    private readonly config: PostPassConfig,
    private readonly audit: (e: AuditEventInput) => Promise<unknown>,
    logger?: Logger,
  ) {
    this.log = (logger ?? silentLogger).child({ component: 'post-pass' });
  }

  get configured(): boolean {
    return this.config.labelPrinter !== undefined || this.config.postPassHook !== undefined;
  }

  /** Runs what is configured for this device; `report` is told after each action. */
  async run(device: PassedDevice, report: (r: PostPassReport) => void): Promise<void> {
    const base = eventFieldsOf(device);
    const state: PostPassReport = {};
    if (this.config.labelPrinter) {
      const zpl = this.labelOf(device);
      try {
        await sendLabel(this.config.labelPrinter, zpl);
        state.labelPrint = 'printed';
        await this.record({ ...base, step: 'label-print', outcome: 'ok' });
      } catch (e) {
        state.labelPrint = 'failed';
        this.log.warn({ deviceId: device.deviceId, err: (e as Error).message }, 'label not printed');
        await this.record({
          ...base,
          step: 'label-print',
          outcome: 'fail',
          errorCode: 'LABEL_PRINT_FAILED',
          message: (e as Error).message,
        });
      }
      report({ ...state });
    }
    if (this.config.postPassHook) {
      const r = await runPostPassHook(this.config.postPassHook, device);
      state.hook = r;
      if (!r.ok) this.log.warn({ deviceId: device.deviceId, exitCode: r.exitCode, why: r.message }, 'post-PASS hook failed');
      await this.record({
        ...base,
        step: 'post-pass-hook',
        outcome: r.ok ? 'ok' : 'fail',
        ...(r.ok ? {} : { errorCode: 'POST_PASS_HOOK_FAILED', message: r.message }),
        data: { command: this.config.postPassHook.command[0], ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) },
      });
      report({ ...state });
    }
  }

  /**
   * A device's label again, at a person's request (jammed, smudged, lost): the device passed (the
   * caller takes it from the trail). Recorded as `label-print` with `reprint: true`; a printer that
   * does not take it rejects with LABEL_PRINT_FAILED, recorded too.
   */
  /** The device's label, from the configured template (ZPL). */
  private labelOf(device: PassedDevice): string {
    return renderLabel(this.config.labelTemplate ?? DEFAULT_LABEL_TEMPLATE, {
      serial: device.hardwareSerial,
      deviceId: device.deviceId,
      workOrder: device.workOrder,
      batchId: device.batchId,
    });
  }

  async reprint(device: PassedDevice): Promise<void> {
    const printer = this.config.labelPrinter;
    if (!printer) throw new StationError('BAD_CONFIG', 'no label printer is set (Settings, F4)');
    const base = {
      ...eventFieldsOf(device),
      step: 'label-print',
      data: { reprint: true },
    };
    const zpl = this.labelOf(device);
    try {
      await sendLabel(printer, zpl);
    } catch (e) {
      await this.audit({ ...base, outcome: 'fail', errorCode: 'LABEL_PRINT_FAILED', message: (e as Error).message });
      throw e;
    }
    await this.audit({ ...base, outcome: 'ok' });
  }

  /** An event that cannot be written is logged: the device's own record is already in the trail. */
  private async record(e: AuditEventInput): Promise<void> {
    await this.audit(e).catch((err: unknown) =>
      this.log.error({ err: (err as Error).message, step: e.step }, 'event not written'),
    );
  }
}

/** The audit fields every post-PASS event of a device carries. */
function eventFieldsOf(device: PassedDevice) {
  return {
    station: device.station,
    operator: device.operator,
    fixture: device.fixture,
    batchId: device.batchId,
    deviceId: device.deviceId,
    hardwareSerial: device.hardwareSerial,
  };
}
