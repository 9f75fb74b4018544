// The `imprint pairing …` CLI tests once more on a PostgreSQL store (the astartectl-style ones:
// astartectl-on-postgres.test.ts; one file each, as each takes minutes on a loaded machine).
import { test } from 'node:test';
import { passOnPostgres } from './on-postgres.ts';

test('the pairing CLI tests pass on a PostgreSQL store', () => passOnPostgres(['test/pairing-http/cli.test.ts']));
