// The Pairing API's HTTP tests once more on a PostgreSQL store (the CLI files: cli-on-postgres.test.ts).
import { test } from 'node:test';
import { CLI_FILES, passOnPostgres, testFilesIn } from './on-postgres.ts';

test('the pairing HTTP tests pass on a PostgreSQL store', () =>
  passOnPostgres(testFilesIn('pairing-http').filter((f) => !CLI_FILES.includes(f))));
