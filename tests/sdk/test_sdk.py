"""The official Waldur Python SDK (waldur-api-client 8.1.3) against `serve`.

Starts the release `serve` example on deterministic demo data with `--dump`,
so that every record the server loaded is also written to a JSON Lines file
straight from the generator. This script then builds its own model of the
data from that file -- entity attributes last-write-wins (SPEC 1.3),
filters, ordering with the deterministic tie-breaks (SPEC 2.2), pagination,
sparse fields and visibility scopes, all in plain Python -- and checks every
answer the SDK gets (list, `sync_all`, count via HEAD, retrieve) against it:
parsed SDK objects and the raw JSON bodies, key order included.

Usage: python test_sdk.py SERVE_BINARY WORKDIR [RECORDS] [SEED]
"""

import datetime as dt
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal

from waldur_api_client import errors
from waldur_api_client.api.marketplace_component_user_usages import (
    marketplace_component_user_usages_count as count_api,
    marketplace_component_user_usages_list as list_api,
    marketplace_component_user_usages_retrieve as retrieve_api,
)
from waldur_api_client.client import AuthenticatedClient
from waldur_api_client.models.component_user_usage_field_enum import ComponentUserUsageFieldEnum as F
from waldur_api_client.models.component_user_usage_o_enum import ComponentUserUsageOEnum as O
from waldur_api_client.types import UNSET
from waldur_api_client.utils import parse_link_header
from urllib.parse import parse_qs

FIELDS = [
    "uuid", "user", "username", "component_usage", "usage", "measured_unit", "description",
    "created", "modified", "backend_id", "resource_name", "resource_uuid", "offering_name",
    "offering_uuid", "project_name", "project_uuid", "customer_name", "customer_uuid",
    "component_type", "date", "billing_period",
]

PASSED = 0
FAILED = 0


def check(cond, what):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL:", what, file=sys.stderr)
        if FAILED > 20:
            raise SystemExit("too many failures")


# ------------------------------------------------------------------ the model

def load_model(path):
    """Records by uuid, with entity attributes as the last record wrote them."""
    raw = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                raw.append(json.loads(line, parse_float=Decimal))
    cu, res, off, proj, cust = {}, {}, {}, {}, {}
    recs = {}
    for r in raw:
        recs[r["uuid"]] = r
        cu[r["component_usage"]] = (r["date"], r["billing_period"], r["component_type"],
                                     r["measured_unit"], r["resource_uuid"])
        res[r["resource_uuid"]] = (r["resource_name"], r["offering_uuid"], r["project_uuid"])
        off[r["offering_uuid"]] = r["offering_name"]
        proj[r["project_uuid"]] = (r["project_name"], r["customer_uuid"])
        cust[r["customer_uuid"]] = r["customer_name"]
    out = []
    for r in recs.values():
        r = dict(r)
        (r["date"], r["billing_period"], r["component_type"], r["measured_unit"],
         r["resource_uuid"]) = cu[r["component_usage"]]
        r["resource_name"], r["offering_uuid"], r["project_uuid"] = res[r["resource_uuid"]]
        r["offering_name"] = off[r["offering_uuid"]]
        r["project_name"], r["customer_uuid"] = proj[r["project_uuid"]]
        r["customer_name"] = cust[r["customer_uuid"]]
        out.append({k: r[k] for k in FIELDS})
    return raw, out


def utc_day(ts):
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return t.astimezone(dt.timezone.utc).date()


def matches(r, f):
    if "customer_uuid" in f and r["customer_uuid"] != f["customer_uuid"]:
        return False
    if "project_uuid" in f and r["project_uuid"] != f["project_uuid"]:
        return False
    if "offering_uuid" in f and r["offering_uuid"] != f["offering_uuid"]:
        return False
    if "resource_uuid" in f and r["resource_uuid"] != f["resource_uuid"]:
        return False
    if "resource" in f:
        m = re.fullmatch(r"(?:[a-z]+://[^/]*)?/api/marketplace-resources/([0-9a-fA-F-]{32,36})/?", f["resource"])
        if not m or uuid.UUID(m.group(1)).hex != r["resource_uuid"]:
            return False
    if "username" in f and f["username"].lower() not in r["username"].lower():
        return False
    if "type" in f and r["component_type"] != f["type"]:
        return False
    bp = dt.date.fromisoformat(r["billing_period"])
    if "billing_period_year" in f:
        y = float(f["billing_period_year"])
        if y != int(y) or bp.year != int(y):
            return False
    if "billing_period_month" in f:
        m = float(f["billing_period_month"])
        if m != int(m) or bp.month != int(m):
            return False
    if "component_usage__billing_period" in f and bp != f["component_usage__billing_period"]:
        return False
    day = utc_day(r["date"])
    if "date_after" in f and day < f["date_after"]:
        return False
    if "date_before" in f and day > f["date_before"]:
        return False
    return True


def visible(r, scope):
    if scope is None:
        return True
    return (r["customer_uuid"] in scope["customers"] or r["project_uuid"] in scope["projects"]
            or r["offering_uuid"] in scope["offerings"])


def ts_key(ts):
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


SORT = {
    "usage": lambda r: r["usage"] if isinstance(r["usage"], Decimal) else Decimal(r["usage"]),
    "username": lambda r: r["username"],
    "component_usage__billing_period": lambda r: r["billing_period"],
}


def ordered(rows, o):
    """SPEC 2.2: the o keys, then -date, component_type, then uuid ascending."""
    keys = [(k.lstrip("-"), k.startswith("-")) for k in o]
    keys += [("date", True), ("component_type", False), ("uuid", False)]
    rows = list(rows)
    for name, desc in reversed(keys):  # stable sorts, least significant first
        if name == "date":
            fn = lambda r: ts_key(r["date"])
        elif name in ("component_type", "uuid"):
            fn = lambda r, n=name: r[n]
        else:
            fn = SORT[name]
        rows.sort(key=fn, reverse=desc)
    return rows


def expect(model, f, o=(), scope=None):
    return ordered([r for r in model if matches(r, f) and visible(r, scope)], o)


def page_of(rows, page, page_size):
    size = 10 if not page_size or page_size <= 0 else min(page_size, 300)
    return rows[(page - 1) * size: page * size]


# ------------------------------------------------------------------ SDK calls

def sdk_kwargs(f):
    kw = {}
    for k in ("customer_uuid", "project_uuid", "offering_uuid", "resource_uuid"):
        if k in f:
            kw[k] = uuid.UUID(f[k])
    for k in ("resource", "username"):
        if k in f:
            kw[k] = f[k]
    if "type" in f:
        kw["type_"] = f["type"]
    if "billing_period_year" in f:
        kw["billing_period_year"] = float(f["billing_period_year"])
    if "billing_period_month" in f:
        kw["billing_period_month"] = float(f["billing_period_month"])
    if "component_usage__billing_period" in f:
        kw["component_usage_billing_period"] = f["component_usage__billing_period"]
    for k in ("date_after", "date_before"):
        if k in f:
            kw[k] = f[k]
    return kw


def norm_json(v):
    """A raw JSON record as the model holds it (usage as Decimal)."""
    return json.loads(json.dumps(v), parse_float=Decimal) if not isinstance(v, dict) else v


def same_record(sdk_obj, raw_obj, want, fields):
    """The SDK's parsed object, the raw JSON object and the model agree on `fields`."""
    if list(raw_obj.keys()) != fields:
        return f"keys {list(raw_obj.keys())} != {fields}"
    for k in fields:
        if raw_obj[k] != want[k]:
            return f"{k}: wire {raw_obj[k]!r} != model {want[k]!r}"
    d = sdk_obj.to_dict()
    for k in FIELDS:
        v = getattr(sdk_obj, k)
        if k not in fields:
            if v is not UNSET:
                return f"{k} set although not asked for"
            continue
        w = want[k]
        if k in ("uuid", "resource_uuid", "offering_uuid", "project_uuid", "customer_uuid"):
            ok = v == uuid.UUID(w)
        elif k in ("created", "modified", "date"):
            ok = v == ts_key(w)
        elif k == "billing_period":
            ok = v == dt.date.fromisoformat(w)
        elif k == "usage":
            ok = Decimal(str(v)) == Decimal(str(w))
        else:
            ok = v == w
        if not ok:
            return f"{k}: sdk {v!r} != model {w!r} ({d.get(k)!r})"
    return None


def main():
    binary, work = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    seed = sys.argv[4] if len(sys.argv) > 4 else "7"
    os.makedirs(work, exist_ok=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    base = f"http://127.0.0.1:{port}"
    dump = os.path.join(work, "dump.jsonl")
    tokens_path = os.path.join(work, "tokens.json")

    # The scoped token needs a customer of the data: generate the data first
    # with a throwaway server run? No: the demo is deterministic, so start
    # once with a staff token only, read the dump, then restart with scopes.
    def start(tokens, with_dump):
        with open(tokens_path, "w") as f:
            json.dump(tokens, f)
        args = [binary, "--addr", f"127.0.0.1:{port}", "--base-url", base, "--demo", str(n),
                "--seed", seed, "--tokens", tokens_path]
        if with_dump:
            args += ["--dump", dump]
        log = open(os.path.join(work, "serve.log"), "a")
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        line = p.stdout.readline()
        if "listening on" not in line:
            p.kill()
            raise SystemExit(f"serve did not start: {line!r}; see {work}/serve.log")
        print(line.strip())
        return p

    proc = start({"staff-token": "staff"}, True)
    try:
        raw, model = load_model(dump)
        check(len(raw) == n, f"dump has {len(raw)} records")
        by_uuid = {r["uuid"]: r for r in model}
        client = AuthenticatedClient(base_url=base, token="staff-token")
        run_checks(client, model, by_uuid, None, random.Random(1))
        run_sync_all(client, model)
        bad = AuthenticatedClient(base_url=base, token="wrong")
        try:
            list_api.sync(client=bad)
            check(False, "a wrong token must fail")
        except errors.UnexpectedStatus as e:
            check(e.status_code == 401 and json.loads(e.content) == {"detail": "Invalid token."},
                  f"wrong token: {e.status_code} {e.content!r}")
    finally:
        proc.terminate()
        proc.wait(30)

    # Scoped tokens: one customer, plus one project of another customer.
    rng = random.Random(2)
    customers = sorted({r["customer_uuid"] for r in model})
    c = rng.choice(customers)
    projects = sorted({r["project_uuid"] for r in model if r["customer_uuid"] != c})
    p = rng.choice(projects)
    scope = {"customers": {c}, "projects": {p}, "offerings": set()}
    time.sleep(0.5)
    proc = start({"staff-token": "staff",
                  "scoped": {"customers": [c], "projects": [str(uuid.UUID(p))]}}, False)
    try:
        client = AuthenticatedClient(base_url=base, token="scoped")
        run_checks(client, model, by_uuid, scope, random.Random(3))
        seen = list_api.sync_all(client=client, o=[O.USAGE])
        want = expect(model, {}, ["usage"], scope)
        check([x.uuid.hex for x in seen] == [r["uuid"] for r in want],
              f"scoped sync_all: {len(seen)} vs {len(want)}")
    finally:
        proc.terminate()
        proc.wait(30)

    total = PASSED + FAILED
    print(f"sdk: {PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED or total == 0 else 0)


def random_filter(model, rng):
    r = rng.choice(model)
    f = {}
    picks = rng.sample([
        "customer_uuid", "project_uuid", "offering_uuid", "resource_uuid", "resource", "username",
        "type", "year", "month", "period", "after", "before",
    ], rng.choice([0, 1, 1, 2, 2, 3]))
    for k in picks:
        if k in ("customer_uuid", "project_uuid", "offering_uuid", "resource_uuid"):
            f[k] = r[k]
        elif k == "resource":
            f[k] = f"https://elsewhere.example/api/marketplace-resources/{r['resource_uuid']}/"
        elif k == "username":
            u = r["username"]
            i = rng.randrange(len(u))
            f[k] = u[i:i + rng.randint(1, 4)].upper()
        elif k == "type":
            f[k] = r["component_type"]
        elif k == "year":
            f["billing_period_year"] = r["billing_period"][:4]
        elif k == "month":
            f["billing_period_month"] = str(int(r["billing_period"][5:7]))
        elif k == "period":
            f["component_usage__billing_period"] = dt.date.fromisoformat(r["billing_period"])
        elif k == "after":
            f["date_after"] = utc_day(r["date"]) - dt.timedelta(days=rng.randint(0, 40))
        elif k == "before":
            f["date_before"] = utc_day(r["date"]) + dt.timedelta(days=rng.randint(0, 40))
    return f


O_CHOICES = [[], [O.USAGE], [O.VALUE_1], [O.USERNAME], [O.VALUE_2, O.VALUE_1],
             [O.COMPONENT_USAGE_BILLING_PERIOD, O.USERNAME], [O.VALUE_0, O.USAGE, O.VALUE_2]]
FIELD_CHOICES = [None, [F.UUID, F.USAGE], [F.BILLING_PERIOD, F.USERNAME, F.UUID, F.CUSTOMER_NAME],
                 [F.USER, F.COMPONENT_USAGE, F.CREATED, F.MODIFIED, F.DATE, F.DESCRIPTION]]


def run_checks(client, model, by_uuid, scope, rng):
    label = "scoped" if scope else "staff"
    for i in range(120):
        f = random_filter(model, rng)
        o = rng.choice(O_CHOICES)
        fields = rng.choice(FIELD_CHOICES)
        page_size = rng.choice([None, 1, 7, 100, 300, 1000])
        rows = expect(model, f, [x.value for x in o], scope)
        size = 10 if not page_size else min(page_size, 300)
        pages = max(1, -(-len(rows) // size))
        page = min(pages, rng.choice([1, 1, 2, pages, max(1, pages // 2)]))
        kw = sdk_kwargs(f)
        if o:
            kw["o"] = o
        if fields:
            kw["field"] = fields
        if page_size:
            kw["page_size"] = page_size
        if page != 1:
            kw["page"] = page
        resp = list_api.sync_detailed(client=client, **kw)
        what = f"{label} list #{i} {f} o={[x.value for x in o]} page={page} size={page_size}"
        check(resp.status_code == 200, f"{what}: status {resp.status_code}")
        want = page_of(rows, page, page_size)
        body = json.loads(resp.content, parse_float=Decimal)
        check(len(body) == len(want) == len(resp.parsed), f"{what}: {len(body)} rows, want {len(want)}")
        names = [x.value for x in fields] if fields else FIELDS
        names = [k for k in FIELDS if k in names]
        for got, raw_obj, w in zip(resp.parsed, body, want):
            err = same_record(got, raw_obj, w, names)
            check(err is None, f"{what}: {w['uuid']}: {err}")
        check(int(resp.headers["x-result-count"]) == len(rows),
              f"{what}: X-Result-Count {resp.headers.get('x-result-count')} != {len(rows)}")
        # The SDK's own Link parser splits on commas: every URL must survive it.
        link = resp.headers.get("link", "")
        links = parse_link_header(link)
        rels = ["first"] + (["prev"] if page > 1 else []) + (["next"] if page < pages else []) + ["last"]
        check(sorted(links) == sorted(rels) and len(link.split(",")) == len(rels),
              f"{what}: links {link}")
        for rel, url in links.items():
            q = url.split("?", 1)[1] if "?" in url else ""
            check(not any(ch in q for ch in ",;<> "), f"{what}: raw separator in {url}")
            params = parse_qs(q, keep_blank_values=True)
            want_page = {"first": 1, "prev": page - 1, "next": page + 1, "last": pages}[rel]
            check(params.get("page") == ([str(want_page)] if want_page != 1 else None),
                  f"{what}: {rel} -> {url}")
            if o:
                check(params.get("o") == [x.value for x in o], f"{what}: o lost in {url}")
        # count (HEAD)
        ckw = {k: v for k, v in kw.items() if k not in ("field", "page", "page_size")}
        c = count_api.sync(client=client, **ckw)
        check(c == len(rows), f"{what}: count {c} != {len(rows)}")
    # A page past the end is a 404 the SDK reports.
    try:
        list_api.sync(client=client, page=10 ** 6)
        check(False, "page past the end must fail")
    except errors.UnexpectedStatus as e:
        check(e.status_code == 404 and json.loads(e.content) == {"detail": "Invalid page."}, f"{e.content!r}")
    # Retrieve: visible records, invisible ones and unknown uuids.
    sample = rng.sample(model, 60)
    for w in sample:
        fields = rng.choice(FIELD_CHOICES)
        kw = {"field": fields} if fields else {}
        names = [k for k in FIELDS if k in [x.value for x in fields]] if fields else FIELDS
        if visible(w, scope):
            resp = retrieve_api.sync_detailed(uuid=uuid.UUID(w["uuid"]), client=client, **kw)
            body = json.loads(resp.content, parse_float=Decimal)
            err = same_record(resp.parsed, body, w, names)
            check(resp.status_code == 200 and err is None, f"{label} retrieve {w['uuid']}: {err}")
        else:
            try:
                retrieve_api.sync(uuid=uuid.UUID(w["uuid"]), client=client)
                check(False, f"{label} retrieve of invisible {w['uuid']} must be 404")
            except errors.UnexpectedStatus as e:
                check(e.status_code == 404 and json.loads(e.content) == {"detail": "Not found."},
                      f"invisible retrieve: {e.status_code} {e.content!r}")
    try:
        retrieve_api.sync(uuid=uuid.UUID(int=12345), client=client)
        check(False, "unknown uuid must be 404")
    except errors.UnexpectedStatus as e:
        check(e.status_code == 404, f"unknown uuid: {e.status_code}")
    # Counts without filters.
    check(count_api.sync(client=client) == len(expect(model, {}, (), scope)), f"{label} total count")


def run_sync_all(client, model):
    """sync_all follows Link: next (page_size 100) through whole result sets."""
    rng = random.Random(4)
    customers = sorted({r["customer_uuid"] for r in model})
    for c in rng.sample(customers, min(3, len(customers))):
        got = list_api.sync_all(client=client, customer_uuid=uuid.UUID(c), o=[O.VALUE_1, O.USERNAME])
        want = expect(model, {"customer_uuid": c}, ["-usage", "username"])
        check([x.uuid.hex for x in got] == [r["uuid"] for r in want],
              f"sync_all customer {c}: {len(got)} vs {len(want)}")
    got = list_api.sync_all(client=client, field=[F.UUID, F.USAGE])
    want = expect(model, {})
    check(len(got) == len(model), f"sync_all everything: {len(got)} of {len(model)}")
    check([x.uuid.hex for x in got] == [r["uuid"] for r in want], "sync_all everything: order")
    check(all(Decimal(str(x.usage)) == Decimal(str(w["usage"])) for x, w in zip(got, want)),
          "sync_all everything: usage values")


if __name__ == "__main__":
    main()
