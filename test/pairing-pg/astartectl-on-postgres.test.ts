// The astartectl-style command tests once more on a PostgreSQL store.
import { test } from 'node:test';
import { passOnPostgres } from './on-postgres.ts';

test('the astartectl-style command tests pass on a PostgreSQL store', () =>
  passOnPostgres(['test/pairing-http/astartectl-cli.test.ts']));
