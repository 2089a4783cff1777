#!/usr/bin/env python3
"""Subscribe to Keel's events on NATS JetStream: a durable pull consumer, written with the
plain nats-py client (no Keel code), that decodes each message's MessagePack (or JSON) body and
checks its headers with the CloudEvents SDK.

    pip install nats-py==2.16.0 cloudevents==2.2.0 msgpack==1.2.4
    scripts/examples/consume.py --durable billing                       # every event
    scripts/examples/consume.py --durable t1 --tenant 0190...          # one tenant
    scripts/examples/consume.py --durable s --type tenant.suspended    # one event type
    scripts/examples/consume.py --durable r --from-sequence 1000       # replay from a sequence
    scripts/examples/consume.py --durable r --since 2026-12-01T00:00:00Z

Prints one JSON line per event (id, type, stream, version, position, tenant, data) and acks it;
a durable consumer resumes after the last acked message when started again. Stops after
--count events if given, or when --idle seconds pass without a message.
"""

import argparse
import asyncio
import json
import sys
from datetime import datetime

import msgpack
import nats
from cloudevents.core.bindings.http import HTTPMessage, from_binary_event
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default="nats://127.0.0.1:4222")
    p.add_argument("--stream", default="KEEL_EVENTS")
    p.add_argument("--prefix", default="keel.events", help="Keel's subject prefix")
    p.add_argument("--durable", required=True, help="consumer name (resumes where it stopped)")
    p.add_argument("--tenant", help="only this tenant's events")
    p.add_argument("--type", help="only this event type, e.g. tenant.suspended")
    p.add_argument("--from-sequence", type=int, help="start at this stream sequence")
    p.add_argument("--since", help="start at this time (RFC 3339)")
    p.add_argument("--count", type=int, help="stop after this many events")
    p.add_argument("--idle", type=float, default=5.0, help="stop after this many idle seconds")
    return p.parse_args()


def subject(args):
    # keel.events.<tenant_id>.<aggregate>.<fact>
    tenant = args.tenant or "*"
    kind = args.type or "*.*"
    return f"{args.prefix}.{tenant}.{kind}"


def consumer_config(args):
    config = ConsumerConfig(durable_name=args.durable, ack_policy=AckPolicy.EXPLICIT)
    if args.from_sequence:
        config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = args.from_sequence
    elif args.since:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = args.since
    else:
        config.deliver_policy = DeliverPolicy.ALL
    return config


def decode(msg):
    headers = msg.headers or {}
    # The CloudEvents SDK validates the binary-mode attributes (ce-* and Content-Type).
    event = from_binary_event(HTTPMessage(headers=dict(headers), body=msg.data))
    content_type = event.get_datacontenttype()
    if content_type == "application/msgpack":
        data = msgpack.unpackb(msg.data, raw=False)
    else:
        data = json.loads(msg.data)
    time = event.get_time()
    assert isinstance(time, datetime), "ce-time is an RFC 3339 time"
    return {
        "id": event.get_id(),
        "type": event.get_type(),
        "source": event.get_source(),
        "stream": event.get_subject(),
        "time": time.isoformat(),
        "content_type": content_type,
        "version": int(headers["Keel-Stream-Version"]),
        "position": int(headers["Keel-Global-Position"]),
        "tenant": headers["Keel-Tenant-Id"],
        "correlation": headers["Keel-Correlation-Id"],
        "causation": headers.get("Keel-Causation-Id"),
        "subject": msg.subject,
        "data": data,
    }


async def main():
    args = parse_args()
    nc = await nats.connect(args.server)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        subject(args), durable=args.durable, stream=args.stream, config=consumer_config(args)
    )
    received = 0
    idle = 0.0
    try:
        while args.count is None or received < args.count:
            try:
                msgs = await sub.fetch(batch=100, timeout=1.0)
            except asyncio.TimeoutError:
                # nats-py raises its own TimeoutError (a subclass) or, when the deadline runs
                # out between its two pull requests, a plain asyncio.TimeoutError.
                idle += 1.0
                if idle >= args.idle:
                    break
                continue
            idle = 0.0
            for msg in msgs:
                print(json.dumps(decode(msg), default=str), flush=True)
                await msg.ack()
                received += 1
    finally:
        await nc.drain()
    if args.count is not None and received < args.count:
        print(f"only {received} of {args.count} events arrived", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
