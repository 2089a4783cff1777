#!/usr/bin/env python3
"""Re-verify a Keel audit export with Python's standard library only (no Keel code), from the
encoding docs/AUDIT.md specifies: each record's commitments and hash, the links between
records, and that every checkpoint and the head name the hash of their record.

    scripts/examples/verify_audit.py audit.jsonl     # from GET .../audit/export or keel audit export
    scripts/examples/verify_audit.py audit.csv       # format=csv

Exit 0 and "OK ..." when the export verifies; exit 1 naming the first bad line otherwise.
Ed25519 is not in the standard library: check the signatures with
`keel audit verify --export FILE --public-key KEY`.
"""
import csv, hashlib, json, sys

GENESIS = "0" * 64
HASHED = ["tenant_id", "seq", "position", "event_id", "occurred_at_us", "actor_kind", "actor_id",
          "action", "entity_type", "entity_id", "before_digest", "after_digest", "correlation_id",
          "causation_id", "source_ip_digest"]
NULLABLE = {"before", "after", "causation_id", "source_ip", "salt", "before_digest",
            "after_digest", "source_ip_digest", "key_id", "signature"}


def enc(value):
    """A field: 0x00 if absent, else 0x01, the UTF-8 length (u64 big-endian), the bytes."""
    if value is None:
        return b"\x00"
    data = str(value).encode("utf-8")
    return b"\x01" + len(data).to_bytes(8, "big") + data


def sha256(*fields):
    return hashlib.sha256(b"".join(enc(f) for f in fields)).hexdigest()


def lines(path):
    if not path.endswith(".csv"):
        return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    rows = csv.DictReader(open(path, encoding="utf-8", newline=""))
    return [{k: (None if v == "" and k in NULLABLE else v) for k, v in row.items()} for row in rows]


def verify(path):
    prev, last, head = None, None, False
    for n, line in enumerate(lines(path), start=1):
        fail = lambda why: sys.exit(f"line {n} (record {line['seq']}): {why}")
        if head:
            fail("nothing may follow the head")
        if line["kind"] != "record":  # a checkpoint or the head: the hash of the line before
            if last is None or [str(line[k]) for k in ("seq", "position", "hash")] != last:
                fail(f"{line['kind']} does not match the record before it")
            head = line["kind"] == "head"
            continue
        seq = int(line["seq"])
        if prev is not None and (seq, line["prev_hash"]) != prev:
            fail("does not follow the record before it (missing, removed or reordered)")
        if seq == 1 and line["prev_hash"] != GENESIS:
            fail("the first record's previous hash is not the genesis hash")
        for field in ("before", "after", "source_ip"):
            if line["salt"] is not None and line[field] is not None and \
                    sha256(field, line["salt"], line[field]) != line[field + "_digest"]:
                fail(f"its {field} does not match its commitment")
        if sha256("keel-audit-record-v2", line["prev_hash"], *[line[k] for k in HASHED]) != line["hash"]:
            fail("its content does not match its hash")
        prev, last = (seq + 1, line["hash"]), [str(line[k]) for k in ("seq", "position", "hash")]
    if not head:
        sys.exit("the export has no head line: it was cut short")
    print(f"OK: records up to {last[0]} verify, head {last[2]}")


if __name__ == "__main__":
    verify(sys.argv[1])
