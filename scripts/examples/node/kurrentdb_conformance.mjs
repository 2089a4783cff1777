// Conformance check of Keel's KurrentDB gRPC protocol with the official Node client
// (`@kurrent/kurrentdb-client`, pinned in package.json, installed by scripts/test with `npm ci`).
//
//     node scripts/examples/node/kurrentdb_conformance.mjs 'kurrentdb://admin:<key>@localhost:2113?tlsCAFile=<ca.pem>'
//
// The Node client sends credentials only over TLS. Runs every check against a fresh, uniquely
// named set of streams; prints one line per check and `N passed, N failed`; exits non-zero if
// any check failed. Driven by the Rust test `grpc::official_clients` on both backends, beside
// the Python client's checks (scripts/examples/kurrentdb_conformance.py).

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  ANY,
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  binaryEvent,
  jsonEvent,
  streamNameFilter,
} from "@kurrent/kurrentdb-client";

const checks = [];
const check = (name, run) => checks.push({ name, run });
const named = (prefix) => `${prefix}-${randomUUID().slice(0, 12)}`;

const json = (n, type = "Tested") =>
  jsonEvent({ id: randomUUID(), type, data: { n }, metadata: { m: n } });
const binary = (n) =>
  binaryEvent({
    id: randomUUID(),
    type: "Bytes",
    data: Uint8Array.from([0, 1, 2, 255, n]),
    metadata: Uint8Array.from([0, 1]),
  });

/** Every event of `stream` read with `options`, as the client's recorded events. */
async function read(client, stream, options = {}) {
  const events = [];
  for await (const resolved of client.readStream(stream, options)) events.push(resolved.event);
  return events;
}

/** Runs `append` and returns the error it throws, failing if it throws none. */
async function refused(append) {
  try {
    await append();
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded");
}

check("append_json_and_binary_and_read_them_back_byte_for_byte", async (client) => {
  const stream = named("one");
  const sent = [json(0), binary(1)];
  const result = await client.appendToStream(stream, sent, { streamState: NO_STREAM });
  assert.equal(result.nextExpectedRevision, 1n);
  const [first, second] = await read(client, stream);
  assert.equal(first.id, sent[0].id);
  assert.equal(first.type, "Tested");
  assert.equal(first.isJson, true);
  assert.deepEqual(first.data, { n: 0 });
  assert.deepEqual(first.metadata, { m: 0 });
  assert.equal(first.revision, 0n);
  assert.equal(second.id, sent[1].id);
  assert.equal(second.isJson, false);
  assert.deepEqual([...second.data], [0, 1, 2, 255, 1]);
  assert.deepEqual([...second.metadata], [0, 1]);
  assert.equal(second.revision, 1n);
  assert.ok(second.created, "a created time");
});

check("read_forwards_and_backwards_with_counts", async (client) => {
  const stream = named("many");
  const sent = Array.from({ length: 25 }, (_, n) => json(n));
  await client.appendToStream(stream, sent, { streamState: NO_STREAM });
  const forwards = await read(client, stream);
  assert.deepEqual(forwards.map((e) => e.id), sent.map((e) => e.id));
  const backwards = await read(client, stream, {
    direction: BACKWARDS,
    fromRevision: END,
    maxCount: 3,
  });
  assert.deepEqual(backwards.map((e) => e.revision), [24n, 23n, 22n]);
  const from = await read(client, stream, { direction: FORWARDS, fromRevision: 20n, maxCount: 2 });
  assert.deepEqual(from.map((e) => e.revision), [20n, 21n]);
});

check("every_expected_revision_kind_and_wrong_version_details", async (client) => {
  const stream = named("wrong");
  await client.appendToStream(stream, [json(0), json(1)], { streamState: NO_STREAM });
  for (const wrong of [NO_STREAM, 0n]) {
    const error = await refused(() =>
      client.appendToStream(stream, json(2), { streamState: wrong }),
    );
    assert.ok(error instanceof WrongExpectedVersionError, String(error));
    assert.equal(error.actualState, 1n);
  }
  await client.appendToStream(stream, json(2), { streamState: 1n });
  await client.appendToStream(stream, json(3), { streamState: ANY });
  const result = await client.appendToStream(stream, json(4), { streamState: STREAM_EXISTS });
  assert.equal(result.nextExpectedRevision, 4n);
  const missing = await refused(() =>
    client.appendToStream(named("absent"), json(0), { streamState: STREAM_EXISTS }),
  );
  assert.ok(missing instanceof WrongExpectedVersionError, String(missing));
});

check("re_appending_the_same_events_is_idempotent", async (client) => {
  const stream = named("idem");
  const sent = [json(0), json(1)];
  const first = await client.appendToStream(stream, sent, { streamState: NO_STREAM });
  const again = await client.appendToStream(stream, sent, { streamState: NO_STREAM });
  assert.equal(again.nextExpectedRevision, first.nextExpectedRevision);
  assert.equal((await read(client, stream)).length, 2);
});

check("a_missing_stream_is_not_found", async (client) => {
  const error = await refused(() => read(client, named("missing")));
  assert.ok(error instanceof StreamNotFoundError, String(error));
});

check("delete_then_write_again_then_tombstone", async (client) => {
  const stream = named("deleted");
  await client.appendToStream(stream, [json(0), json(1)], { streamState: NO_STREAM });
  await client.deleteStream(stream, { streamState: 1n });
  const gone = await refused(() => read(client, stream));
  assert.ok(gone instanceof StreamNotFoundError, String(gone));
  await client.appendToStream(stream, json(2), { streamState: ANY });
  assert.deepEqual((await read(client, stream)).map((e) => e.revision), [2n]);
  await client.tombstoneStream(stream);
  const write = await refused(() => client.appendToStream(stream, json(3)));
  assert.ok(write instanceof StreamDeletedError, String(write));
  const readBack = await refused(() => read(client, stream));
  assert.ok(readBack instanceof StreamDeletedError, String(readBack));
});

check("read_all_and_a_filtered_catch_up_subscription_across_the_hand_over", async (client) => {
  const prefix = named("sub");
  const history = Array.from({ length: 5 }, (_, n) => json(n));
  await client.appendToStream(`${prefix}-a`, history, { streamState: NO_STREAM });
  let all = 0;
  for await (const _ of client.readAll({ fromPosition: START, maxCount: 100000 })) all += 1;
  assert.ok(all >= 5, `$all held ${all} events`);
  const subscription = client.subscribeToAll({
    fromPosition: START,
    filter: streamNameFilter({ prefixes: [prefix] }),
  });
  const live = Array.from({ length: 5 }, (_, n) => json(5 + n));
  const writing = client.appendToStream(`${prefix}-b`, live, { streamState: NO_STREAM });
  const received = [];
  for await (const resolved of subscription) {
    received.push(resolved.event.id);
    if (received.length === 10) break;
  }
  await subscription.unsubscribe();
  await writing;
  assert.deepEqual(received, [...history, ...live].map((e) => e.id));
});

async function main() {
  if (process.argv.length !== 3) {
    console.error("usage: node kurrentdb_conformance.mjs <connection string>");
    return 2;
  }
  const client = KurrentDBClient.connectionString(process.argv[2]);
  let passed = 0;
  let failed = 0;
  for (const { name, run } of checks) {
    try {
      await run(client);
      passed += 1;
      console.log(`ok   ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}`);
      console.log(error?.stack ?? String(error));
    }
  }
  await client.dispose();
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
