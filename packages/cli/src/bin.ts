#!/usr/bin/env node
// Before anything can touch libuv's thread pool: librdkafka holds one thread per connecting client.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { processIo } = await import('./io.js');
const { main } = await import('./main.js');

// A reader that went away (stream-app topics | head) ends the output, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2), processIo);
