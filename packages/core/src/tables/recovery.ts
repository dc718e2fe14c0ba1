import type { Clock } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import type { AdminPort, PartitionReader } from '../transport/transport.js';
import type { Table } from './table.js';

/** Recovering a partition this worker is to serve, keeping a standby copy, or following a global table. */
export type RecoveryPurpose = 'recovery' | 'standby' | 'global';

const APPLY_EVERY = 10_000;
const PROGRESS_EVERY_MS = 2_000;

/**
 * Brings a table partition's store up to date from its changelog: from the store's checkpoint (or
 * the earliest offset) to the high watermark at the start, so that it always finishes, even while
 * the changelog grows. A checkpoint outside the changelog (deleted records, retention, a recreated
 * topic) starts over from the earliest offset.
 */
export async function recoverPartition(
  table: Table<unknown, unknown>,
  partition: number,
  parts: {
    admin: AdminPort;
    reader: PartitionReader;
    clock: Clock;
    sensors: Sensors;
    logger: Logger;
    purpose: RecoveryPurpose;
    /** Asked between batches: true ends the read early (the worker stops, or a recovery waits behind a standby pass). */
    shouldStop: () => boolean;
  },
): Promise<void> {
  const { admin, reader, clock, sensors, logger, purpose } = parts;
  const marks = (await admin.watermarks(table.changelogTopic)).find((m) => m.partition === partition);
  const low = marks?.low ?? 0;
  const high = marks?.high ?? 0;
  let checkpoint = table.store.checkpoint(partition);
  if (checkpoint !== undefined && (checkpoint < low || checkpoint > high)) {
    logger.warn(
      'table checkpoint is outside its changelog (records deleted, retention, or the topic recreated); recovering the partition from the earliest offset',
      {
        code: 'STREAM_APP_ERR_CHECKPOINT_OUT_OF_RANGE',
        table: table.name,
        partition,
        checkpoint,
        low,
        high,
      },
    );
    await table.store.clear(partition);
    checkpoint = undefined;
  }
  const from = checkpoint ?? low;
  const total = Math.max(0, high - from);
  const started = clock.now();
  let read = 0;
  let lastReport = started;
  const report = (done: boolean) => {
    // Standby and global passes run every second: only those that read something are worth a sensor call.
    if (purpose !== 'recovery' && read === 0) return;
    const seconds = Math.max((clock.now() - started) / 1000, 0.001);
    const recordsPerSecond = Math.round(read / seconds);
    sensors.emit('onTableRecovery', {
      table: table.name,
      partition,
      read,
      total,
      recordsPerSecond,
      done,
      purpose,
    });
    // Only recoveries are logged: standbys and global tables read their changelogs every second.
    if (purpose !== 'recovery') return;
    if (done) {
      logger.info('table partition recovered', {
        table: table.name,
        partition,
        records: read,
        from,
        to: high,
        ms: Math.round(clock.now() - started),
      });
    } else {
      const left = recordsPerSecond > 0 ? Math.ceil(Math.max(0, total - read) / recordsPerSecond) : undefined;
      logger.info('recovering table partition', {
        table: table.name,
        partition,
        records: `${read}/${total}`,
        perSecond: recordsPerSecond,
        ...(left === undefined ? {} : { secondsLeft: left }),
      });
    }
  };
  if (total === 0) {
    if (checkpoint === undefined && high > 0) await table.applyChangelog(partition, [], high);
    report(true);
    return;
  }
  let batch: Array<{ key: Buffer | null; value: Buffer | null }> = [];
  let skipped = 0;
  const apply = (records: typeof batch, after: number) => async () => {
    skipped += await table.applyChangelog(partition, records, after);
  };
  let applying = Promise.resolve();
  const to = await reader.readToEnd({ topic: table.changelogTopic, partition }, from, parts.shouldStop, (messages) => {
    for (const message of messages) batch.push({ key: message.key, value: message.value });
    read += messages.length;
    if (batch.length >= APPLY_EVERY) {
      const records = batch;
      const after = messages[messages.length - 1]!.offset + 1;
      batch = [];
      applying = applying.then(apply(records, after));
    }
    if (clock.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = clock.now();
      report(false);
    }
  });
  await applying.then(apply(batch, to));
  if (skipped > 0) {
    logger.warn('changelog records that do not decode were skipped', {
      code: 'STREAM_APP_ERR_DECODE',
      table: table.name,
      partition,
      skipped,
    });
  }
  report(true);
}
