// A checkpoint thread that cannot start (wal-checkpointer.test.ts: the writer must checkpoint by itself again).
throw new Error('checkpoint thread broken on purpose');
