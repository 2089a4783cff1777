#!/usr/bin/env python3
"""Conformance check of Keel's KurrentDB gRPC protocol with the official Python client
(`kurrentdbclient`, installed pinned by scripts/test).

    python3 scripts/examples/kurrentdb_conformance.py 'esdb://admin:<key>@127.0.0.1:2113?tls=false'

Runs every check against a fresh, uniquely named set of streams; prints one line per check and
`N passed, N failed`; exits non-zero if any check failed. Driven by the Rust test
`grpc::official_clients` on both backends.
"""

import sys
import threading
import traceback
import uuid

from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import (
    FailedPreconditionError,
    NotFoundError,
    StreamIsDeletedError,
    WrongCurrentVersionError,
)

CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def event(n, type_="Tested", content_type="application/json"):
    return NewEvent(
        type=type_,
        data=b'{"n": %d}' % n,
        metadata=b"\x00\x01meta",
        content_type=content_type,
        id=uuid.uuid4(),
    )


@check
def append_one_and_read_it_back(client):
    stream = name("one")
    sent = event(0)
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=sent)
    [got] = client.get_stream(stream)
    assert got.id == sent.id, got
    assert got.type == "Tested" and got.data == sent.data and got.metadata == sent.metadata
    assert got.content_type == "application/json" and got.stream_position == 0
    assert got.recorded_at is not None


@check
def batch_append_many_then_read_both_ways(client):
    stream = name("many")
    events = [event(n, content_type="application/octet-stream") for n in range(25)]
    position = client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=events)
    assert position > 0
    forwards = client.get_stream(stream)
    assert [e.id for e in forwards] == [e.id for e in events]
    backwards = client.get_stream(stream, backwards=True, limit=3)
    assert [e.stream_position for e in backwards] == [24, 23, 22]
    assert client.get_current_version(stream) == 24


@check
def wrong_versions_are_reported(client):
    stream = name("wrong")
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[event(0), event(1)])
    for wrong in (StreamState.NO_STREAM, 0):
        try:
            client.append_to_stream(stream, current_version=wrong, events=[event(2), event(3)])
        except WrongCurrentVersionError:
            pass
        else:
            raise AssertionError(f"appending at {wrong} succeeded")
    client.append_to_stream(stream, current_version=1, events=event(2))
    client.append_to_stream(stream, current_version=StreamState.ANY, events=event(3))
    client.append_to_stream(stream, current_version=StreamState.EXISTS, events=event(4))
    assert client.get_current_version(stream) == 4


@check
def re_appending_is_idempotent(client):
    stream = name("idem")
    events = [event(0), event(1)]
    first = client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=events)
    again = client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=events)
    assert first == again, (first, again)
    assert len(client.get_stream(stream)) == 2


@check
def a_missing_stream_is_not_found(client):
    try:
        client.get_stream(name("missing"))
    except NotFoundError:
        return
    raise AssertionError("a missing stream was found")


@check
def delete_then_write_again_and_tombstone(client):
    stream = name("deleted")
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[event(0), event(1)])
    client.delete_stream(stream, current_version=1)
    try:
        client.get_stream(stream)
    except NotFoundError:
        pass
    else:
        raise AssertionError("a deleted stream was read")
    client.append_to_stream(stream, current_version=StreamState.ANY, events=event(2))
    assert [e.stream_position for e in client.get_stream(stream)] == [2]
    client.tombstone_stream(stream, current_version=StreamState.ANY)
    # Several events go by BatchAppend, whose error detail names the deleted stream; one
    # event by Append, whose status the client reports as a failed precondition.
    for events, error in (([event(3), event(4)], StreamIsDeletedError), (event(3), FailedPreconditionError)):
        try:
            client.append_to_stream(stream, current_version=StreamState.ANY, events=events)
        except error as e:
            assert "is deleted" in str(e), e
        else:
            raise AssertionError("a tombstoned stream was written")
    try:
        client.get_stream(stream)
    except (StreamIsDeletedError, FailedPreconditionError):
        pass
    else:
        raise AssertionError("a tombstoned stream was read")


@check
def read_all_and_a_filtered_catch_up_subscription(client):
    prefix = name("sub")
    history = [event(n, type_=f"{prefix}-type") for n in range(5)]
    client.append_to_stream(f"{prefix}-a", current_version=StreamState.NO_STREAM, events=history)
    assert len(list(client.read_all(limit=100000))) >= 5
    subscription = client.subscribe_to_all(filter_include=[f"{prefix}-.*"], filter_by_stream_name=True)
    live = [event(n, type_=f"{prefix}-type") for n in range(5, 10)]
    writer = threading.Thread(
        target=lambda: client.append_to_stream(f"{prefix}-b", current_version=StreamState.NO_STREAM, events=live)
    )
    writer.start()
    received = []
    for recorded in subscription:
        received.append(recorded.id)
        if len(received) == 10:
            break
    subscription.stop()
    writer.join()
    assert received == [e.id for e in history + live], received


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    client = KurrentDBClient(uri=sys.argv[1])
    passed = failed = 0
    for function in CHECKS:
        try:
            function(client)
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {function.__name__}")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {function.__name__}")
    client.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
