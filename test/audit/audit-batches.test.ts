import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { Batch } from '../../src/audit/audit-types.ts';
import { identityOf, signedBatchText } from '../../src/audit/batch-summary.ts';
import { verifySignature } from '../../src/audit/station-signing-key.ts';
import { deviceEvents, openTrail, STATION, seed, tempDir } from './audit-fixtures.ts';

describe('batches', () => {
  const tmp = tempDir();
  let trail: AuditTrail;
  let batch: Batch;
  let closed: Batch;
  before(async () => {
    trail = openTrail(tmp.dir);
    batch = await trail.openBatch({ workOrder: 'WO-1001', operator: 'alice' });
    await seed(trail, 12, batch.id, 4); // devices 0, 4, 8 fail
    // Appended in the same turn as the close: still counted, the close waits for them.
    const late = trail.append(deviceEvents(99, batch.id)[3]);
    closed = await trail.closeBatch(batch.id);
    await late;
  });
  after(() => {
    trail.close();
    tmp.cleanup();
  });

  test('opening records the batch and a batch-open event', () => {
    assert.equal(batch.workOrder, 'WO-1001');
    assert.equal(batch.station, STATION);
    assert.equal(batch.offline, false);
    const [open] = trail.query({ batchId: batch.id, step: 'batch-open' });
    assert.equal(open.operator, 'alice');
    assert.equal((open.data as { batch: { workOrder: string } }).batch.workOrder, 'WO-1001');
  });

  test('closing counts one record event per device, with failures by code and first/last hashes', () => {
    const s = closed.summary;
    assert.ok(s);
    assert.deepEqual(
      { total: s.total, passed: s.passed, failed: s.failed, failuresByCode: s.failuresByCode },
      {
        total: 13,
        passed: 10,
        failed: 3,
        failuresByCode: { E_DIGEST: 2, E_LABEL_MISMATCH: 1 },
      },
    );
    const events = trail.query({ batchId: batch.id, limit: 1000 });
    assert.equal(events[0].step, 'batch-close');
    assert.equal(s.firstEventHash, events[events.length - 1].hash);
    assert.equal(s.lastEventHash, events[1].hash);
    assert.equal(trail.getBatch(batch.id)?.closedAt, closed.closedAt);
  });

  test('the summary is signed by the station key and the signature verifies offline', () => {
    assert.ok(closed.signature && closed.signingKeyId && closed.summary);
    const { publicKey, keyId } = trail.publicKey();
    assert.equal(closed.signingKeyId, keyId);
    const text = signedBatchText(identityOf(closed), closed.summary);
    assert.equal(verifySignature(publicKey, text, closed.signature), true);
    const tampered = signedBatchText(identityOf(closed), { ...closed.summary, passed: closed.summary.passed + 1 });
    assert.equal(verifySignature(publicKey, tampered, closed.signature), false);
    const [close] = trail.query({ step: 'batch-close' });
    assert.equal((close.data as { publicKey: string }).publicKey, publicKey);
  });

  test('an event for a closed batch is kept but not counted, and a batch closes once', async () => {
    const late = await trail.append(deviceEvents(1, batch.id)[3]);
    assert.equal(late.batchId, batch.id);
    assert.equal(trail.getBatch(batch.id)?.summary?.total, 13, 'the signed summary is a snapshot at close');
    assert.equal(
      trail.stats({ batchId: batch.id }).throughputPerHour.reduce((a, h) => a + h.passed + h.failed, 0),
      13,
      'the batch report counts what the summary counts',
    );
    assert.ok(trail.verify().ok);
    await assert.rejects(trail.closeBatch(batch.id), { code: 'AUDIT_BATCH_CLOSED' });
    await assert.rejects(trail.closeBatch('nope'), { code: 'AUDIT_UNKNOWN_BATCH' });
  });

  test('one open batch at a time; list, current and per-batch stats', async () => {
    assert.equal(trail.currentBatch(), undefined);
    const second = await trail.openBatch({ workOrder: 'WO-1002', operator: 'bob', offline: true });
    await assert.rejects(trail.openBatch({ workOrder: 'WO-1003', operator: 'bob' }), { code: 'AUDIT_BATCH_ALREADY_OPEN' });
    await assert.rejects(trail.openBatch({ workOrder: ' ', operator: 'bob' }), { code: 'AUDIT_INVALID_BATCH' });
    assert.equal(trail.currentBatch()?.id, second.id);
    assert.equal(trail.currentBatch()?.offline, true);
    await seed(trail, 2, second.id);
    assert.deepEqual(
      trail.listBatches().map((b) => [b.workOrder, b.closedAt ? 'closed' : 'open']),
      [
        ['WO-1002', 'open'],
        ['WO-1001', 'closed'],
      ],
    );
    const stats = trail.stats({ batchId: second.id });
    assert.deepEqual(
      stats.throughputPerHour.map((h) => h.passed + h.failed),
      [2],
    );
    assert.deepEqual(stats.failuresByCode, []);
    const closedSecond = await trail.closeBatch(second.id);
    assert.equal(closedSecond.summary?.total, 2);
    assert.ok(trail.verify().ok);
  });

  test('a batch survives a reopen of the trail', async () => {
    const again = openTrail(tmp.dir);
    try {
      const b = again.getBatch(batch.id);
      assert.equal(b?.summary?.passed, 10);
      assert.equal(b?.signature, closed.signature);
      const third = await again.openBatch({ workOrder: 'WO-1004', operator: 'carol' });
      assert.equal(again.currentBatch()?.id, third.id);
    } finally {
      again.close();
    }
  });
});
