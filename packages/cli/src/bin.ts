#!/usr/bin/env node
// Before anything can touch libuv's thread pool: librdkafka holds one thread per connecting client.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { processIo } = await import('./io.js');
const { main } = await import('./main.js');

process.exitCode = await main(process.argv.slice(2), processIo);
