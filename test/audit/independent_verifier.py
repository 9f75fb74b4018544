#!/usr/bin/python3
"""An independent verifier of Imprint audit trails, written from docs/audit-trail.md alone.

Python 3 standard library only. Ed25519 verification is implemented below in pure Python after
RFC 8032 section 6 (the standard library has no Ed25519).

    python3 independent_verifier.py --db audit.db [--key-id ID ...] [--anchor A ...]
    python3 independent_verifier.py --file export.jsonl|export.csv [--key-id ID ...] [--anchor A ...]

A file is a chain export (imprint-audit-export/2) or a selection (imprint-audit-selection/1).

Prints one JSON object: {"ok": true|false, "brokenAt": seq|null, "reason": "..."}.
"""

import argparse
import base64
import csv
import hashlib
import json
import math
import os
import re
import sqlite3
import sys

# ---------------------------------------------------------------------------------------------
# Ed25519 verification (RFC 8032, section 6, cofactorless)

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % P
    B = (a[1] + a[0]) * (b[1] + b[0]) % P
    C = 2 * a[3] * b[3] * D % P
    Dd = 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
BASE = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % P)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


# ---------------------------------------------------------------------------------------------
# Keys: base64 DER SubjectPublicKeyInfo of an Ed25519 key; key id = "ed25519:" + 16 hex of SHA-256(DER)

SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def key_id(public_key_b64):
    return "ed25519:" + hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16]


def signature_ok(public_key_b64, text, signature_b64):
    try:
        der = base64.b64decode(public_key_b64, validate=True)
        sig = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        return False
    if len(der) != 44 or not der.startswith(SPKI_PREFIX):
        return False
    return ed25519_verify(der[12:], text.encode("utf-8"), sig)


# ---------------------------------------------------------------------------------------------
# Canonical JSON (docs: "Canonical form")


class NotCanonical(Exception):
    pass


def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise NotCanonical("duplicate member")
    return dict(pairs)


def _no_constant(name):
    raise NotCanonical("not JSON: " + name)


def parse(text):
    """JSON, refusing duplicate members and NaN/Infinity."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise NotCanonical(str(e))


def es_number(x):
    """ECMAScript Number::toString."""
    try:
        x = float(x)
    except OverflowError:  # an integer beyond the doubles: not finite
        return "null"
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es_number(-x)
    r = repr(x)
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = whole + frac
    stripped = digits.lstrip("0")
    n = len(whole) + int(exp or "0") - (len(digits) - len(stripped))
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + sign + str(abs(e))


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def es_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif c < 0x20 or 0xD800 <= c <= 0xDFFF:
            # Python joins escaped surrogate pairs while parsing, so a surrogate here is lone.
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def utf16_key(k):
    return k.encode("utf-16-be", "surrogatepass")


def canon(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return es_number(v)
    if isinstance(v, str):
        return es_string(v)
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(es_string(k) + ":" + canon(v[k]) for k in sorted(v, key=utf16_key)) + "}"
    raise NotCanonical("not a JSON value")


def canonical_value(text):
    v = parse(text)
    if canon(v) != text:
        raise NotCanonical("not in canonical form")
    return v


def depth(v):
    if isinstance(v, dict):
        return 1 + max([depth(x) for x in v.values()] or [0])
    if isinstance(v, list):
        return 1 + max([depth(x) for x in v] or [0])
    return 0


ORDER = ["v", "seq", "prevHash", "ts", "station", "operator", "fixture", "batchId", "deviceId",
         "hardwareSerial", "step", "outcome", "errorCode", "message", "durationMs", "secretFingerprint", "data"]
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
MAX_SAFE = 2**53 - 1


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def serialise_body(ev):
    return "{" + ",".join(es_string(k) + ":" + canon(ev[k]) for k in ORDER if k in ev) + "}"


def check_members(ev):
    """The member rules of an event body (types, required members)."""
    if not isinstance(ev, dict) or set(ev) - set(ORDER):
        raise NotCanonical("unknown member")
    if ev.get("v") != 1 or not is_int(ev.get("v")):
        raise NotCanonical("v")
    if not is_int(ev.get("seq")) or not 1 <= ev["seq"] <= MAX_SAFE:
        raise NotCanonical("seq")
    if not isinstance(ev.get("prevHash"), str) or not HEX64.match(ev["prevHash"]):
        raise NotCanonical("prevHash")
    for k, v in ev.items():
        if k in ("v", "seq", "prevHash"):
            continue
        if k == "durationMs":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise NotCanonical("durationMs")
        elif k == "data":
            if not isinstance(v, dict) or depth(v) > 100:
                raise NotCanonical("data")
        elif not isinstance(v, str) or v == "" or any(0xD800 <= ord(ch) <= 0xDFFF for ch in v):
            raise NotCanonical(k)


def canonical_body(text):
    ev = parse(text)
    check_members(ev)
    if serialise_body(ev) != text:
        raise NotCanonical("not in canonical form")
    return ev


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Problems: (seq, reason); the verdict is the one with the smallest seq


class Verdict:
    def __init__(self):
        self.problem = None

    def at(self, seq, reason):
        if self.problem is None or seq < self.problem[0]:
            self.problem = (seq, reason)

    def result(self):
        if self.problem is None:
            return {"ok": True, "brokenAt": None, "reason": ""}
        return {"ok": False, "brokenAt": self.problem[0], "reason": self.problem[1]}


# ---------------------------------------------------------------------------------------------
# Batches


def batch_close_problem(ev, pinned):
    data = ev.get("data")
    if not isinstance(data, dict) or not data.get("batch") or not data.get("summary") \
            or not isinstance(data.get("signature"), str) or not isinstance(data.get("publicKey"), str):
        return "batch-close without a signed summary"
    if not isinstance(data["batch"], dict) or data["batch"].get("id") != ev.get("batchId"):
        return "batch-close names another batch"
    kid = key_id(data["publicKey"])
    if data.get("signingKeyId") != kid:
        return "key id does not match the public key"
    if pinned is not None and kid not in pinned:
        return "signed by a key that is not pinned"
    text = "imprint-batch-summary/1\n" + canon({"batch": data["batch"], "summary": data["summary"]})
    if not signature_ok(data["publicKey"], text, data["signature"]):
        return "bad batch signature"
    return None


def summary_of(events, batch_id, close_seq):
    """The summary recomputed from the events (seq, event, hash) before close_seq."""
    s = {"total": 0, "passed": 0, "failed": 0, "failuresByCode": {}}
    first = last = None
    for seq, ev, h in events:
        if seq >= close_seq or ev.get("batchId") != batch_id:
            continue
        if ev.get("step") == "batch-open" and first is None:
            first = h
        if ev.get("step") == "record":
            s["total"] += 1
            if ev.get("outcome") == "ok":
                s["passed"] += 1
            elif ev.get("outcome") == "fail":
                s["failed"] += 1
                code = ev.get("errorCode", "UNKNOWN")
                s["failuresByCode"][code] = s["failuresByCode"].get(code, 0) + 1
        last = h
    if first is not None:
        s["firstEventHash"] = first
    if last is not None:
        s["lastEventHash"] = last
    return s


# ---------------------------------------------------------------------------------------------
# Anchors and checkpoints

CHECKPOINT_MEMBERS = {"format", "hash", "keyId", "publicKey", "seq", "signature", "time"}


def checkpoint_problem(text, pinned):
    """(checkpoint, None) or (None, reason)."""
    if text.endswith("\n"):
        text = text[:-1]
    try:
        c = canonical_value(text)
    except NotCanonical as e:
        return None, "checkpoint not canonical: %s" % e
    if not isinstance(c, dict) or set(c) != CHECKPOINT_MEMBERS or c["format"] != "imprint-audit-checkpoint/1":
        return None, "not a checkpoint"
    if not is_int(c["seq"]) or c["seq"] < 0 or not isinstance(c["hash"], str) or not HEX64.match(c["hash"]):
        return None, "checkpoint seq or hash"
    if not all(isinstance(c[k], str) for k in ("time", "keyId", "publicKey", "signature")):
        return None, "checkpoint member types"
    kid = key_id(c["publicKey"])
    if c["keyId"] != kid:
        return None, "checkpoint key id does not match its key"
    if pinned is not None and kid not in pinned:
        return None, "checkpoint signed by a key that is not pinned"
    signed = "imprint-audit-checkpoint/1\n" + canon({"hash": c["hash"], "keyId": c["keyId"], "seq": c["seq"], "time": c["time"]})
    if not signature_ok(c["publicKey"], signed, c["signature"]):
        return None, "checkpoint signature does not verify"
    return c, None


def parse_anchor(arg, pinned):
    """An anchor: {"seq", "hash"} or {"invalid": reason}."""
    text = arg.strip()
    if not re.match(r"\d+:[0-9a-f]{64}\Z", text) and not text.startswith("{"):
        with open(arg, encoding="utf-8") as f:
            text = f.read().strip()
    m = re.match(r"(\d+):([0-9a-f]{64})\Z", text)
    if m:
        return {"seq": int(m.group(1)), "hash": m.group(2)}
    c, problem = checkpoint_problem(text, pinned)
    if problem:
        return {"invalid": problem}
    return {"seq": c["seq"], "hash": c["hash"]}


def check_anchors(verdict, anchors, last_verified, hashes):
    v = last_verified
    for a in anchors:
        if "invalid" in a:
            verdict.at(v + 1, a["invalid"])
        elif a["seq"] > v:
            verdict.at(v + 1, "trail ends before the anchored event %d" % a["seq"])
        elif a["seq"] > 0 and hashes.get(a["seq"]) != a["hash"]:
            verdict.at(a["seq"], "event differs from the anchor")


# ---------------------------------------------------------------------------------------------
# Databases


def verify_db(path, pinned, anchors):
    verdict = Verdict()
    base = os.path.basename(path)
    head_file = os.path.join(os.path.dirname(path), (base[:-3] if base.endswith(".db") else base) + ".head")
    head_text = None
    if os.path.exists(head_file):  # read the checkpoint before the database
        try:
            with open(head_file, "rb") as f:
                head_text = f.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            head_text = ""
    events, hashes = [], {}
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        conn.text_factory = bytes
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        max_seq = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        rows = conn.execute("SELECT seq, typeof(entry), entry FROM events ORDER BY seq")
        expected, prev = 1, "0" * 64
        L = None
        for seq, kind, raw in rows:
            problem = None
            if seq != expected:
                problem = "event missing"
            elif kind != b"text" and kind != "text":
                problem = "entry not TEXT"
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                    problem = "not valid UTF-8"
                if text is not None:
                    if not (len(text) > 70 and text.startswith('["') and text[66:68] == '",' and text.endswith("]")):
                        problem = "not a stored row"
                    else:
                        h, body = text[2:66], text[68:-1]
                        try:
                            ev = canonical_body(body)
                            if ev["seq"] != expected:
                                problem = "reordered"
                            elif ev["prevHash"] != prev:
                                problem = "prevHash mismatch"
                            elif sha256_hex(body) != h:
                                problem = "hash mismatch"
                        except NotCanonical as e:
                            problem = "not canonical: %s" % e
            if problem:
                verdict.at(expected, problem)
                L = expected
                break
            events.append((seq, ev, h))
            hashes[seq] = h
            prev = h
            expected += 1
        if L is None:
            L = max_seq + 1
        batches = {}
        for bid, open_seq, close_seq, summary, signature in conn.execute(
                "SELECT id, open_seq, close_seq, summary, signature FROM batches"):
            batches[bid.decode()] = (open_seq, close_seq, summary, signature)
    except sqlite3.DatabaseError as e:
        return {"ok": False, "brokenAt": len(events) + 1, "reason": "damaged: %s" % e}

    # Batches (step 3)
    closed = set()
    for seq, ev, h in events:
        if ev.get("step") != "batch-close":
            continue
        problem = batch_close_problem(ev, pinned)
        bid = ev.get("batchId")
        if not problem:
            data = ev["data"]
            opens = [s for s, e, _ in events if e.get("batchId") == bid and e.get("step") == "batch-open"]
            if canon(data["summary"]) != canon(summary_of(events, bid, seq)):
                problem = "batch summary does not match its events"
            elif bid not in batches:
                problem = "batch missing from the batches table"
            else:
                open_seq, close_seq, summary, signature = batches[bid]
                row_summary = parse(summary.decode()) if summary else None
                if (not opens or open_seq != opens[0] or close_seq != seq
                        or (signature.decode() if signature else None) != data["signature"]
                        or canon(row_summary) != canon(data["summary"])):
                    problem = "batches table differs from the batch-close event"
        if problem:
            verdict.at(seq, problem)
            break
        closed.add(bid)
    for bid, (open_seq, close_seq, _, _) in batches.items():
        if close_seq is not None and close_seq < L and close_seq <= max_seq and bid not in closed:
            verdict.at(close_seq, "batch-close event missing")
        if max(open_seq, close_seq or 0) > max_seq:
            verdict.at(max_seq + 1, "the batches table records events past the end")

    # Anchors (step 4)
    all_anchors = []
    if head_text is not None:
        c, problem = checkpoint_problem(head_text, pinned)
        all_anchors.append({"invalid": problem} if problem else {"seq": c["seq"], "hash": c["hash"]})
    elif schema >= 3 and max_seq >= 1:
        all_anchors.append({"invalid": "the chain-head checkpoint is missing"})
    all_anchors.extend(anchors)
    check_anchors(verdict, all_anchors, L - 1, hashes)
    return verdict.result()


# ---------------------------------------------------------------------------------------------
# Exports

HEADER_MEMBERS = {"exportedAt", "format", "fromSeq", "keyId", "publicKey", "station", "type"}
TRAILER_MEMBERS = {"events", "lastHash", "lastSeq", "signature", "type"}
COLUMNS = ["seq", "prevHash", "hash", "ts", "station", "operator", "fixture", "batchId", "deviceId",
           "hardwareSerial", "step", "outcome", "errorCode", "message", "durationMs", "secretFingerprint", "data"]


def parse_header(text):
    h = canonical_value(text)
    if isinstance(h, dict) and h.get("type") == "header" and h.get("format") == SELECTION_FORMAT:
        return parse_selection_header(h)
    if not isinstance(h, dict) or h.get("type") != "header" or h.get("format") != "imprint-audit-export/2":
        raise NotCanonical("not a format 2 header")
    members = set(HEADER_MEMBERS)
    if "batchId" in h:
        if not isinstance(h["batchId"], str) or h["batchId"] == "":
            raise NotCanonical("batchId")
        members.add("batchId")
    if set(h) != members or not is_int(h["fromSeq"]) or h["fromSeq"] < 1:
        raise NotCanonical("header members")
    if not all(isinstance(h[k], str) for k in ("station", "exportedAt", "keyId", "publicKey")):
        raise NotCanonical("header member types")
    return h


def parse_trailer(text):
    t = canonical_value(text)
    if not isinstance(t, dict) or t.get("type") != "trailer" or set(t) != TRAILER_MEMBERS:
        raise NotCanonical("trailer members")
    if not is_int(t["events"]) or t["events"] < 0 or not (t["lastSeq"] is None or is_int(t["lastSeq"])) \
            or not (t["lastHash"] is None or isinstance(t["lastHash"], str)) or not isinstance(t["signature"], str):
        raise NotCanonical("trailer member types")
    return t


class ExportChain:
    """Events of an export in order, from the header's fromSeq (docs: "An export")."""

    def __init__(self, header, pinned):
        self.header, self.pinned = header, pinned
        self.expected, self.prev = header["fromSeq"], ("0" * 64 if header["fromSeq"] == 1 else None)
        self.events, self.hashes, self.problem = [], {}, None
        self.opened, self.trailer = set(), None

    def fail(self, reason):
        if self.problem is None:
            self.problem = (self.expected, reason)

    def event(self, ev, h, body):
        if self.problem:
            return
        if self.trailer is not None:
            return self.fail("an event after the trailer")
        if ev["seq"] != self.expected:
            return self.fail("event missing or reordered")
        if self.prev is not None and ev["prevHash"] != self.prev:
            return self.fail("prevHash mismatch")
        if sha256_hex(body) != h:
            return self.fail("hash mismatch")
        if ev.get("step") == "batch-open":
            self.opened.add(ev.get("batchId"))
        if ev.get("step") == "batch-close":
            problem = batch_close_problem(ev, self.pinned)
            if not problem and ev.get("batchId") in self.opened and \
                    canon(ev["data"]["summary"]) != canon(summary_of(self.events, ev.get("batchId"), ev["seq"])):
                problem = "batch summary does not match its events"
            if problem:
                return self.fail(problem)
        self.events.append((ev["seq"], ev, h))
        self.hashes[ev["seq"]] = h
        self.prev = h
        self.expected += 1

    def on_trailer(self, text):
        if self.problem:
            return
        if self.trailer is not None:
            return self.fail("a second trailer")
        try:
            self.trailer = parse_trailer(text)
        except NotCanonical as e:
            self.fail("trailer: %s" % e)

    def finish(self, anchors):
        verdict = Verdict()
        if self.problem is None:
            t, h = self.trailer, self.header
            if t is None:
                self.fail("no trailer")
            else:
                unsigned = {k: v for k, v in t.items() if k != "signature"}
                kid = key_id(h["publicKey"])
                last = self.events[-1] if self.events else None
                if h["keyId"] != kid:
                    self.fail("header key id does not match its key")
                elif self.pinned is not None and kid not in self.pinned:
                    self.fail("export signed by a key that is not pinned")
                elif not signature_ok(h["publicKey"], "imprint-audit-export/2\n" + canon({"header": h, "trailer": unsigned}), t["signature"]):
                    self.fail("export signature does not verify")
                elif t["events"] != len(self.events) or t["lastSeq"] != (last[0] if last else None) \
                        or t["lastHash"] != (last[2] if last else None):
                    self.fail("the trailer does not match the events")
        if self.problem:
            verdict.at(*self.problem)
        first = self.header["fromSeq"]
        verified_last = (self.problem[0] if self.problem else self.expected) - 1
        in_range = []
        for a in anchors:
            if "invalid" not in a and a["seq"] < first:
                verdict.at(first, "the export starts after the anchored event")
            else:
                in_range.append(a)
        check_anchors(verdict, in_range, verified_last, self.hashes)
        return verdict.result()


# ---------------------------------------------------------------------------------------------
# Selections (docs: "Selections", "Verifying a selection")

SELECTION_FORMAT = "imprint-audit-selection/1"
SELECTION_HEADER_MEMBERS = {"exportedAt", "format", "keyId", "publicKey", "selection", "station", "type"}
SELECTION_TRAILER_MEMBERS = {"digest", "events", "signature", "type"}


def parse_selection_header(h):
    if set(h) != SELECTION_HEADER_MEMBERS:
        raise NotCanonical("selection header members")
    if not all(isinstance(h[k], str) for k in ("station", "exportedAt", "keyId", "publicKey")):
        raise NotCanonical("selection header member types")
    sel = h["selection"]
    if not isinstance(sel, dict) or not all(isinstance(v, str) and v != "" for v in sel.values()):
        raise NotCanonical("selection is not an object of non-empty strings")
    return h


class SelectionChain:
    """The events of a selection: in chain order, not contiguous, signed as a set."""

    def __init__(self, header, pinned):
        self.header, self.pinned = header, pinned
        self.last, self.prev, self.hashes = 0, None, []
        self.problem, self.trailer = None, None

    def fail(self, reason):
        if self.problem is None:
            self.problem = (self.last + 1, reason)

    def event(self, ev, h, body):
        if self.problem:
            return
        if self.trailer is not None:
            return self.fail("an event after the trailer")
        seq = ev["seq"]
        if seq <= self.last:
            return self.fail("event out of chain order or repeated")
        linked = "0" * 64 if seq == 1 else (self.prev if seq == self.last + 1 else None)
        problem = None
        if linked is not None and ev["prevHash"] != linked:
            problem = "prevHash mismatch"
        elif sha256_hex(body) != h:
            problem = "hash mismatch"
        elif ev.get("step") == "batch-close":
            problem = batch_close_problem(ev, self.pinned)
        if problem:
            self.problem = (seq, problem)
            return
        self.last, self.prev = seq, h
        self.hashes.append(h)

    def on_trailer(self, text):
        if self.problem:
            return
        if self.trailer is not None:
            return self.fail("a second trailer")
        try:
            t = canonical_value(text)
            if not isinstance(t, dict) or t.get("type") != "trailer" or set(t) != SELECTION_TRAILER_MEMBERS:
                raise NotCanonical("selection trailer members")
            if not is_int(t["events"]) or t["events"] < 0 or not isinstance(t["digest"], str) \
                    or not HEX64.match(t["digest"]) or not isinstance(t["signature"], str):
                raise NotCanonical("selection trailer member types")
            self.trailer = t
        except NotCanonical as e:
            self.fail("trailer: %s" % e)

    def finish(self, anchors):
        if self.problem is None:
            t, h = self.trailer, self.header
            if t is None:
                self.fail("no trailer")
            else:
                unsigned = {k: v for k, v in t.items() if k != "signature"}
                kid = key_id(h["publicKey"])
                digest = hashlib.sha256("".join(x + "\n" for x in self.hashes).encode("ascii")).hexdigest()
                if h["keyId"] != kid:
                    self.fail("header key id does not match its key")
                elif self.pinned is not None and kid not in self.pinned:
                    self.fail("selection signed by a key that is not pinned")
                elif not signature_ok(h["publicKey"], SELECTION_FORMAT + "\n" + canon({"header": h, "trailer": unsigned}), t["signature"]):
                    self.fail("selection signature does not verify")
                elif t["events"] != len(self.hashes):
                    self.fail("the trailer's count differs from the events")
                elif t["digest"] != digest:
                    self.fail("the trailer's digest differs from the events' hashes")
        verdict = Verdict()
        if self.problem:
            verdict.at(*self.problem)
        return verdict.result()


def chain_for(header, pinned, anchors):
    """The checker for what follows a header; a selection cannot be checked against anchors."""
    if header["format"] == SELECTION_FORMAT:
        if anchors:
            raise NotCanonical("a selection cannot be checked against an anchor")
        return SelectionChain(header, pinned)
    return ExportChain(header, pinned)


EVENT_LINE = re.compile(r',"hash":"([0-9a-f]{64})"\}\Z')


def verify_jsonl(data, pinned, anchors):
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    chain = None
    for i, raw in enumerate(lines):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = None
        if chain is None:
            try:
                if line is None:
                    raise NotCanonical("not UTF-8")
                chain = chain_for(parse_header(line), pinned, anchors)
                continue
            except NotCanonical as e:
                return {"ok": False, "brokenAt": 1, "reason": "header: %s" % e}
        if chain.problem:
            break
        if line is None:
            chain.fail("not valid UTF-8")
            continue
        if line == "":
            chain.fail("an empty line")
            continue
        try:
            obj = parse(line)
        except NotCanonical as e:
            chain.fail("not JSON: %s" % e)
            continue
        if isinstance(obj, dict) and obj.get("type") == "trailer":
            chain.on_trailer(line)
            continue
        m = EVENT_LINE.search(line)
        if not m:
            chain.fail("not an event line")
            continue
        body = line[:m.start()] + "}"
        try:
            ev = canonical_body(body)
        except NotCanonical as e:
            chain.fail("not canonical: %s" % e)
            continue
        chain.event(ev, m.group(1), body)
    if chain is None:
        return {"ok": False, "brokenAt": 1, "reason": "empty export"}
    return chain.finish(anchors)


class BadLine(Exception):
    pass


def verify_csv(data, pinned, anchors):
    def lines():
        parts = data.split(b"\n")
        if parts and parts[-1] == b"":
            parts.pop()
        for raw in parts:
            try:
                yield raw.decode("utf-8") + "\n"
            except UnicodeDecodeError:
                raise BadLine()

    chain = None
    reader = csv.reader(lines(), strict=True)
    record_no = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except (BadLine, csv.Error) as e:
            if chain is None:
                return {"ok": False, "brokenAt": 1, "reason": "malformed CSV before the header"}
            chain.fail("malformed CSV or invalid UTF-8 (%s)" % type(e).__name__)
            break
        record_no += 1
        if record_no == 1:
            if fields != COLUMNS:
                return {"ok": False, "brokenAt": 1, "reason": "not the expected columns"}
            continue
        if chain is not None and chain.problem:
            break
        if len(fields) != len(COLUMNS):
            if chain is None:
                return {"ok": False, "brokenAt": 1, "reason": "field count"}
            chain.fail("field count")
            continue
        kind = fields[0]
        if kind in ("header", "trailer"):
            if any(f != "" for i, f in enumerate(fields) if i not in (0, 16)):
                if chain is None:
                    return {"ok": False, "brokenAt": 1, "reason": "header record"}
                chain.fail("envelope record with values")
                continue
            if kind == "header":
                if chain is not None:
                    chain.fail("a second header")
                    continue
                try:
                    chain = chain_for(parse_header(fields[16]), pinned, anchors)
                except NotCanonical as e:
                    return {"ok": False, "brokenAt": 1, "reason": "header: %s" % e}
            elif chain is None:
                return {"ok": False, "brokenAt": 1, "reason": "no header"}
            else:
                chain.on_trailer(fields[16])
            continue
        if chain is None:
            return {"ok": False, "brokenAt": 1, "reason": "no header"}
        try:
            ev, h = csv_event(fields)
        except NotCanonical as e:
            chain.fail("record: %s" % e)
            continue
        chain.event(ev, h, serialise_body(ev))
    if chain is None:
        return {"ok": False, "brokenAt": 1, "reason": "no header"}
    return chain.finish(anchors)


def csv_event(fields):
    ev = {"v": 1}
    h = None
    for name, value in zip(COLUMNS, fields):
        if value == "":
            continue
        if name == "seq":
            if not re.match(r"[1-9][0-9]*\Z", value) or int(value) > MAX_SAFE:
                raise NotCanonical("seq")
            ev["seq"] = int(value)
        elif name in ("prevHash", "hash"):
            if not HEX64.match(value):
                raise NotCanonical(name)
            if name == "hash":
                h = value
            else:
                ev[name] = value
        elif name == "durationMs":
            v = canonical_value(value)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise NotCanonical("durationMs")
            ev[name] = v
        elif name == "data":
            ev[name] = canonical_value(value)
        else:
            ev[name] = value
    if "seq" not in ev or "prevHash" not in ev or h is None:
        raise NotCanonical("seq, prevHash or hash missing")
    ordered = {k: ev[k] for k in ORDER if k in ev}
    check_members(ordered)
    return ordered, h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--file")
    ap.add_argument("--key-id", nargs="*", default=None)
    ap.add_argument("--anchor", nargs="*", default=[])
    a = ap.parse_args()
    pinned = set(a.key_id) if a.key_id else None
    anchors = [parse_anchor(x, pinned) for x in a.anchor]
    if a.db:
        result = verify_db(a.db, pinned, anchors)
    else:
        with open(a.file, "rb") as f:
            data = f.read()
        result = (verify_jsonl if data.lstrip().startswith(b"{") else verify_csv)(data, pinned, anchors)
    print(json.dumps(result))
    return 0 if result["ok"] else 3


if __name__ == "__main__":
    sys.exit(main())
