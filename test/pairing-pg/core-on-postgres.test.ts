// The claims, /sign and core tests once more on a PostgreSQL store.
import { test } from 'node:test';
import { passOnPostgres, testFilesIn } from './on-postgres.ts';

test('the claims, /sign and core tests pass on a PostgreSQL store', () =>
  passOnPostgres([
    ...testFilesIn('pairing-claims'),
    ...testFilesIn('pairing-sign'),
    'test/pairing/embedded-core.test.ts',
    'test/pairing/credentials.test.ts',
  ]));
