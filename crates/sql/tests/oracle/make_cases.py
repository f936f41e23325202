"""Builds golden cases whose expected output is computed here, independently
of the Rust engine, from the semantics AWS documents. Each case's SQL is its
directory's app.sql; this script writes its input and expected output. Run from the repository
root: python3 crates/sql/tests/oracle/make_cases.py. It runs `shardlab sql`
on each case, compares with the values computed here (numbers within 1e-9,
REAL within single precision), and writes expected.jsonl only when they
agree; otherwise it prints the difference and fails."""
import json, os, struct, subprocess, sys
from datetime import datetime, timedelta

ROOT = "crates/sql/tests/golden"
BIN = os.environ.get("SHARDLAB", "target/debug/shardlab")
T0 = datetime(2026, 1, 5, 9, 0, 0)

def ts(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (dt.microsecond // 1000)

def lcg(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield x >> 33

def ticker_records(n=60, seed=7, step_ms=2500):
    r = lcg(seed)
    tickers = [("AMZN", "TECHNOLOGY"), ("MSFT", "TECHNOLOGY"), ("INTC", "TECHNOLOGY"),
               ("WMT", "RETAIL"), ("XOM", "ENERGY"), ("JPM", "FINANCIAL")]
    out = []
    for i in range(n):
        t, sector = tickers[next(r) % len(tickers)]
        price = (next(r) % 20000) / 100 + 10
        change = ((next(r) % 1000) - 500) / 100
        out.append((T0 + timedelta(milliseconds=i * step_ms), {"TICKER_SYMBOL": t, "SECTOR": sector, "CHANGE": change, "PRICE": price}))
    return out

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]

def write_case(name, sql, lines, expected, real_cols=()):
    """Writes the input, runs the case's app.sql (which lives in the case's
    directory; `sql` is None) and checks it against `expected`."""
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    assert sql is None and os.path.exists(os.path.join(d, "app.sql")), name
    open(os.path.join(d, "input.jsonl"), "w").write("\n".join(json.dumps(l) for l in lines) + "\n")
    args = [BIN, "sql", "--app", os.path.join(d, "app.sql"), "--input", os.path.join(d, "input.jsonl")]
    for f in sorted(os.listdir(d)):
        if f.startswith("schema.") and f.endswith(".json"):
            args += ["--schema", f[len("schema."):-len(".json")] + "=" + os.path.join(d, f)]
    got = subprocess.run(args, capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit(f"{name}: shardlab failed: {got.stderr}")
    rows = [json.loads(l) for l in got.stdout.splitlines()]
    ok = len(rows) == len(expected)
    if ok:
        for g, e in zip(rows, expected):
            if list(g.keys()) != list(e.keys()):
                ok = False
                break
            for k in e:
                a, b = g[k], e[k]
                if isinstance(b, float) or (isinstance(b, int) and isinstance(a, float)):
                    tol = 1e-6 * max(1, abs(b)) if k in real_cols else 1e-9 * max(1, abs(b))
                    if a is None or abs(a - b) > tol:
                        ok = False
                elif a != b:
                    ok = False
    if not ok:
        print(f"== {name}: MISMATCH")
        for i in range(max(len(rows), len(expected))):
            g = rows[i] if i < len(rows) else None
            e = expected[i] if i < len(expected) else None
            if g != e:
                print("!! row", i, "\n   got ", g, "\n   want", e)
        sys.exit(1)
    open(os.path.join(d, "expected.jsonl"), "w").write(got.stdout)
    print(f"{name}: {len(rows)} rows agree")

def rec(dt, data, stream=None, arrival=None):
    l = {"rowtime": ts(dt)}
    if arrival is not None:
        l["arrival"] = ts(arrival)
    if stream:
        l["stream"] = stream
    l["data"] = data
    return l

# Case 7: continuous filter (KDA-DG:app-simple-alerts).
recs = ticker_records()
exp = []
for dt, d in recs:
    if abs(d["CHANGE"] / (d["PRICE"] - d["CHANGE"])) * 100 > 1:
        exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": d["TICKER_SYMBOL"][:4],
                    "SECTOR": d["SECTOR"][:12], "CHANGE": d["CHANGE"], "PRICE": d["PRICE"]})
write_case("kda-07-continuous-filter", None, [rec(dt, d) for dt, d in recs], exp)

# Case 8: tumbling window on ROWTIME, per ticker (KDA-DG:examples-window-tumbling-rowtime).
lines8 = [rec(dt, {"TICKER": d["TICKER_SYMBOL"], "PRICE": d["PRICE"]}) for dt, d in recs]
end = recs[-1][0]
bound = (end.replace(second=0, microsecond=0) + timedelta(minutes=1))
lines8.append({"bound": ts(bound)})
windows = {}
for dt, d in recs:
    w = dt.replace(second=0, microsecond=0)
    windows.setdefault(w, {}).setdefault(d["TICKER_SYMBOL"], []).append(d["PRICE"])
exp = []
for w in sorted(windows):
    for t in sorted(windows[w]):
        ps = windows[w][t]
        exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(w + timedelta(minutes=1)), "TICKER": t,
                    "MIN_PRICE": f32(min(ps)), "MAX_PRICE": f32(max(ps))})
write_case("kda-08-tumbling-step-rowtime", None, lines8, exp, real_cols=("MIN_PRICE", "MAX_PRICE"))

# Case 11c: two row-based windows in one query (moving-average crossover).
hist = {}
exp = []
for dt, d in recs:
    h = hist.setdefault(d["TICKER_SYMBOL"], [])
    h.append(d["PRICE"])
    a2 = h[-3:]
    a10 = h[-11:]
    exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": d["TICKER_SYMBOL"],
                "PRICE": d["PRICE"], "AVERAGE_LAST2ROWS": sum(a2) / len(a2), "AVERAGE_LAST10ROWS": sum(a10) / len(a10)})
write_case("kda-11-sliding-rows-crossover", None, [rec(dt, d) for dt, d in recs], exp)

# Case 11a: one-minute RANGE window per ticker, MIN/MAX/AVG of a DOUBLE.
exp = []
seen = []
for dt, d in recs:
    seen.append((dt, d))
    win = [x["PRICE"] for t, x in seen if x["TICKER_SYMBOL"] == d["TICKER_SYMBOL"] and t >= dt - timedelta(minutes=1)]
    exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": d["TICKER_SYMBOL"],
                "MIN_PRICE": min(win), "MAX_PRICE": max(win), "AVG_PRICE": sum(win) / len(win)})
write_case("kda-11-sliding-range-minute", None, [rec(dt, d) for dt, d in recs], exp)

# Case 12: throttled alerts, nested SELECT over a windowed COUNT, two pumps.
exp = []
changes = []
for dt, d in recs:
    if abs(d["CHANGE"] / (d["PRICE"] - d["CHANGE"])) * 100 > 1:
        exp.append({"stream": "CHANGE_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": d["TICKER_SYMBOL"][:4],
                    "SECTOR": d["SECTOR"][:12], "CHANGE": d["CHANGE"], "PRICE": d["PRICE"]})
        changes.append((dt, d))
        n = sum(1 for t, x in changes if x["TICKER_SYMBOL"] == d["TICKER_SYMBOL"] and t >= dt - timedelta(minutes=1))
        if n == 1:
            exp.append({"stream": "TRIGGER_COUNT_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": d["TICKER_SYMBOL"][:4],
                        "CHANGE": f32(d["CHANGE"]), "TRIGGER_COUNT": 1})
write_case("kda-12-throttled-alerts", None, [rec(dt, d) for dt, d in recs], exp, real_cols=("CHANGE",))

# Case 13: reference-data join.
companies = [("AMZN", "Amazon"), ("ASD", " SomeCompanyA"), ("MMB", " SomeCompanyB"), ("WAS", "  SomeCompanyC"), ("MSFT", "Microsoft")]
lines13 = [{"table": "CompanyName", "row": {"Ticker": t, "Company": c}} for t, c in companies]
lines13 += [rec(dt, d) for dt, d in recs[:20]]
exp = []
for dt, d in recs[:20]:
    comp = dict(companies).get(d["TICKER_SYMBOL"])
    exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": d["TICKER_SYMBOL"], "Company": comp,
                "SECTOR": d["SECTOR"][:12], "CHANGE": d["CHANGE"], "PRICE": d["PRICE"]})
write_case("kda-13-reference-join", None, lines13, exp)

# Case 14: two record types, split and counted per minute.
r = lcg(99)
lines14 = []
events = []
# One schema with the union of both record types' fields (missing: null).
fields = ["RecordType", "Oprice", "Otype", "Oid", "Oticker", "Tid", "Toid", "Tprice", "Tticker"]
for i in range(40):
    dt = T0 + timedelta(seconds=7 * i)
    tk = ["AAAA", "BBBB", "CCCC"][next(r) % 3]
    row = {k: None for k in fields}
    if next(r) % 2:
        row.update({"RecordType": "Order", "Oprice": next(r) % 9000 + 1000, "Otype": ["Buy", "Sell"][next(r) % 2], "Oid": 3000 + i, "Oticker": tk})
    else:
        row.update({"RecordType": "Trade", "Tid": i, "Toid": 3000 + i, "Tprice": next(r) % 9000 + 1000, "Tticker": tk})
    lines14.append(rec(dt, row))
    events.append((dt, row))
lines14.append({"bound": ts((events[-1][0]).replace(second=0) + timedelta(minutes=1))})
exp = []
counts = {}
order = []
def flush(minute):
    for tk in sorted(counts.get(minute, {})):
        exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(minute + timedelta(minutes=1)), "TICKER": tk, "TRADE_COUNT": counts[minute][tk]})
cur = None
for dt, row in events:
    m = dt.replace(second=0)
    if row["RecordType"] == "Order":
        exp.append({"stream": "Order_Stream", "ROWTIME": ts(dt), "ORDER_ID": row["Oid"], "ORDER_TYPE": row["Otype"], "TICKER": row["Oticker"], "ORDER_PRICE": float(row["Oprice"]), "RECORD_TYPE": "Order"})
    else:
        # The trade enters Trade_Stream, then closes the previous minute.
        exp.append({"stream": "Trade_Stream", "ROWTIME": ts(dt), "TRADE_ID": row["Tid"], "ORDER_ID": row["Toid"], "TRADE_PRICE": float(row["Tprice"]), "TICKER": row["Tticker"], "RECORD_TYPE": "Trade"})
        if cur is not None and m != cur:
            flush(cur)
        cur = m
        counts.setdefault(m, {}).setdefault(row["Tticker"], 0)
        counts[m][row["Tticker"]] += 1
if cur is not None:
    flush(cur)
write_case("kda-14-two-record-types", None, lines14, exp)

def at(h, m, s, ms=0, day=datetime(2018, 8, 1)):
    return day.replace(hour=h, minute=m, second=s, microsecond=ms * 1000)

def write_schema(name, stream, schema):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"schema.{stream}.json"), "w").write(json.dumps(schema, indent=2) + "\n")

# Stagger vs tumbling on the same four rows (KDA-DG:stagger-window-concepts).
rows = [(at(11, 0, 20), at(11, 0, 10)), (at(11, 0, 30), at(11, 0, 20)), (at(11, 1, 5), at(11, 0, 55)), (at(11, 1, 15), at(11, 1, 5))]
lines = [rec(r, {"EVENT_TIME": ts(e), "TICKER": "AMZN"}) for r, e in rows] + [{"bound": ts(at(11, 3, 0))}]
d = "DESTINATION_SQL_STREAM"
write_case("kda-10-stagger-vs-tumbling-a-stagger", None, lines, [
    {"stream": d, "ROWTIME": ts(at(11, 1, 20)), "EVENT_TIME": ts(at(11, 0, 0)), "TICKER": "AMZN", "TICKER_COUNT": 3},
    {"stream": d, "ROWTIME": ts(at(11, 2, 15)), "EVENT_TIME": ts(at(11, 1, 0)), "TICKER": "AMZN", "TICKER_COUNT": 1},
])
write_case("kda-10-stagger-vs-tumbling-b-tumbling", None, lines, [
    {"stream": d, "ROWTIME": ts(at(11, 1, 0)), "EVENT_TIME": ts(at(11, 0, 0)), "TICKER": "AMZN", "TICKER_COUNT": 2},
    {"stream": d, "ROWTIME": ts(at(11, 2, 0)), "EVENT_TIME": ts(at(11, 0, 0)), "TICKER": "AMZN", "TICKER_COUNT": 1},
    {"stream": d, "ROWTIME": ts(at(11, 2, 0)), "EVENT_TIME": ts(at(11, 1, 0)), "TICKER": "AMZN", "TICKER_COUNT": 1},
])

# Case 10: the stagger example application (KDA-DG:examples-window-stagger).
lines = []
for i in range(6):
    lines.append(rec(at(20, 17, 30) + timedelta(seconds=10 * i), {"EVENT_TIME": "2018-08-01T20:17:20.797945", "TICKER": "AMZN"}))
for i in range(6):
    lines.append(rec(at(20, 18, 31) + timedelta(seconds=10 * i), {"EVENT_TIME": "2018-08-01T20:18:21.043084", "TICKER": "INTC"}))
lines.append({"bound": ts(at(20, 19, 31))})
write_case("kda-10-stagger-example", None, lines, [
    {"stream": d, "ROWTIME": ts(at(20, 18, 30)), "EVENT_TIME": "2018-08-01 20:17:20.797", "TICKER_SYMBOL": "AMZN", "TICKER_COUNT": 6},
    {"stream": d, "ROWTIME": ts(at(20, 19, 31)), "EVENT_TIME": "2018-08-01 20:18:21.043", "TICKER_SYMBOL": "INTC", "TICKER_COUNT": 6},
])

# Case 9: ROWTIME and APPROXIMATE_ARRIVAL_TIME, a record processed late.
day = datetime(2026, 3, 2)
t = lambda h, m, s: day.replace(hour=h, minute=m, second=s)
lines = [rec(t(17, 5, 10), {"TICKER_SYMBOL": "XYZ"}, arrival=t(17, 5, 9)),
         rec(t(17, 5, 30), {"TICKER_SYMBOL": "XYZ"}, arrival=t(17, 5, 29)),
         rec(t(17, 6, 1), {"TICKER_SYMBOL": "XYZ"}, arrival=t(17, 5, 58)),
         rec(t(17, 6, 20), {"TICKER_SYMBOL": "XYZ"}, arrival=t(17, 6, 19)),
         {"bound": ts(t(17, 7, 0))}]
write_case("kda-09-rowtime-and-arrival-time", None, lines, [
    {"stream": d, "ROWTIME": ts(t(17, 6, 0)), "ingest_time": ts(t(17, 5, 0)), "APPROXIMATE_ARRIVAL_TIME": ts(t(17, 5, 0)), "ticker_symbol": "XYZ", "symbol_count": 2},
    {"stream": d, "ROWTIME": ts(t(17, 7, 0)), "ingest_time": ts(t(17, 6, 0)), "APPROXIMATE_ARRIVAL_TIME": ts(t(17, 5, 0)), "ticker_symbol": "XYZ", "symbol_count": 1},
    {"stream": d, "ROWTIME": ts(t(17, 7, 0)), "ingest_time": ts(t(17, 6, 0)), "APPROXIMATE_ARRIVAL_TIME": ts(t(17, 6, 0)), "ticker_symbol": "XYZ", "symbol_count": 1},
])

# Case 15: string transforms.
t0 = datetime(2026, 3, 2, 12, 0, 0)
write_schema("kda-15a-substring-position", "SOURCE_SQL_STREAM_001", {
    "RecordFormat": {"RecordFormatType": "JSON", "MappingParameters": {"JSONMappingParameters": {"RecordRowPath": "$"}}},
    "RecordEncoding": "UTF-8",
    "RecordColumns": [{"Name": "referrer", "SqlType": "VARCHAR(32)", "Mapping": "$.REFERRER"}]})
refs = ["http://www.amazon.com", "http://www.example.com", "http://www.aws.com"]
lines = [rec(t0 + timedelta(seconds=i), {"REFERRER": r}, arrival=t0 + timedelta(seconds=i) - timedelta(milliseconds=250)) for i, r in enumerate(refs)]
write_case("kda-15a-substring-position", None, lines, [
    {"stream": d, "ROWTIME": ts(t0 + timedelta(seconds=i)), "ingest_time": ts(t0 + timedelta(seconds=i) - timedelta(milliseconds=250)), "referrer": r[11:r.find(".com")]}
    for i, r in enumerate(refs)])

write_case("kda-15b-regex-replace", None, lines, [
    {"stream": d, "ROWTIME": ts(t0 + timedelta(seconds=i)), "ingest_time": ts(t0 + timedelta(seconds=i) - timedelta(milliseconds=250)), "referrer": r.replace("http://", "https://")}
    for i, r in enumerate(refs)])

log = '192.168.254.30 - John [24/May/2004:22:01:02 -0700] "GET /icons/apache_pb.gif HTTP/1.1" 304 0'
vals = ["192.168.254.30", "-", "John", "24/May/2004:22:01:02 -0700", "GET /icons/apache_pb.gif HTTP/1.1", "304", "0"]
write_case("kda-15c-w3c-log-parse", None, [rec(t0, {"log": log})], [
    dict([("stream", d), ("ROWTIME", ts(t0))] + [(f"COLUMN{i + 1}", v[:16]) for i, v in enumerate(vals)])])

write_case("kda-15d-variable-column-log-parse", None, [rec(t0, {"Col_A": "a", "Col_B": "b", "Col_C": "c", "Col_E_Unstructured": "x,y,z"})], [
    {"stream": d, "ROWTIME": ts(t0), "column_A": "a", "column_B": "b", "column_C": "c", "COL_1": "x", "COL_2": "y", "COL_3": "z"}])

# Case 17: TOP_K_ITEMS_TUMBLING and COUNT_DISTINCT_ITEMS_TUMBLING, exact at
# this size. Ties are broken by value.
r = lcg(5)
names = ["AAPL", "AMZN", "MSFT", "INTC", "TBV", "WMT", "XOM"]
lines, evs = [], []
for i in range(150):
    dt = t0 + timedelta(milliseconds=1300 * i)
    tk = names[min(next(r) % 10, len(names) - 1)]
    lines.append(rec(dt, {"TICKER": tk, "PRICE": 10 + i}))
    evs.append((dt, tk))
last = evs[-1][0]
lines.append({"bound": ts(last.replace(second=0) + timedelta(minutes=1))})
wins = {}
for dt, tk in evs:
    w = dt.replace(second=0, microsecond=0)
    wins.setdefault(w, {}).setdefault(tk, 0)
    wins[w][tk] += 1
exp = []
for w in sorted(wins):
    for tk, n in sorted(wins[w].items(), key=lambda x: (-x[1], x[0]))[:5]:
        exp.append({"stream": d, "ROWTIME": ts(w + timedelta(minutes=1)), "TICKER": tk, "MOST_FREQUENT_VALUES": n})
write_case("kda-17a-top-k-items-tumbling", None, lines, exp)
write_case("kda-17b-count-distinct-items-tumbling", None, lines, [
    {"stream": d, "ROWTIME": ts(w + timedelta(minutes=1)), "NUMBER_OF_DISTINCT_ITEMS": len(wins[w])} for w in sorted(wins)])

# Case 19: two-stage aggregation of partial results.
r = lcg(11)
lines, evs = [], []
for i in range(90):
    dt = t0 + timedelta(seconds=2 * i)
    # Some records arrive in the previous minute and are read in this one.
    arr = dt - timedelta(seconds=next(r) % 4)
    tk = ["AMZN", "MSFT", "WMT"][next(r) % 3]
    lines.append(rec(dt, {"TICKER_SYMBOL": tk}, arrival=arr))
    evs.append((dt, arr, tk))
lines.append({"bound": ts(evs[-1][0].replace(second=0) + timedelta(minutes=1))})
groups = {}
for dt, arr, tk in evs:
    key = (dt.replace(second=0), arr.replace(second=0), tk)
    groups[key] = groups.get(key, 0) + 1
exp = []
calc = []
for w in sorted({k[0] for k in groups}):
    ks = sorted([k for k in groups if k[0] == w], key=lambda k: (k[0], k[1], k[2]))
    # A window's rows enter CALC_COUNT_SQL_STREAM together, then flow on.
    for k in ks:
        exp.append({"stream": "CALC_COUNT_SQL_STREAM", "ROWTIME": ts(w + timedelta(minutes=1)), "TICKER": k[2], "TRADETIME": ts(k[0]), "TICKERCOUNT": float(groups[k])})
    for k in ks:
        calc.append((w + timedelta(minutes=1), k[0], k[2], groups[k]))
        total = sum(c[3] for c in calc if c[1] == k[0] and c[0] >= calc[-1][0] - timedelta(minutes=10))
        exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(w + timedelta(minutes=1)), "TICKER": k[2], "TRADETIME": ts(k[0]), "TICKERCOUNT": float(total)})
write_case("kda-19-partial-results", None, lines, exp)

# Case 20: scalar spot checks from the SQL reference.
write_case("kda-20-scalar-spot-checks", None, [rec(t0, {"X": 1})], [{
    "stream": "QUERY_1", "ROWTIME": ts(t0), "STEP_INT": 20, "STEP_EXACT": 30, "STEP_TS": "2004-09-30 13:48:20.000",
    "POS": 7, "POS2": 5, "POS_EMPTY": 1, "SECS": 5.678, "DAYS": 2, "ROUND_TRIP": 1500000000123, "DIFF_MS": 1000,
    "INITCAP": "Hello World", "CONCAT": "ab1", "CASE_WHEN": "yes", "COALESCE_X": "x", "NULLIF_NULL": None}])

# LAG: the previous price per ticker, and two back with a default.
hist = {}
exp = []
for dt, dd in recs:
    h = hist.setdefault(dd["TICKER_SYMBOL"], [])
    h.append(dd["PRICE"])
    prev = h[-2] if len(h) >= 2 else None
    exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "TICKER_SYMBOL": dd["TICKER_SYMBOL"], "PRICE": dd["PRICE"],
                "CHANGE_SINCE_LAST": None if prev is None else dd["PRICE"] - prev,
                "PRICE_TWO_BACK": h[-3] if len(h) >= 3 else 0.0})
write_case("kda-lag-price-change", None, [rec(dt, dd) for dt, dd in recs], exp)

# Flink SESSION windows per item (gap 5 min), watermark bidtime - 1 s.
day = datetime(2020, 4, 15)
bids = [("08:05", "4.00", "A", "supplier1"), ("08:06", "4.00", "C", "supplier2"), ("08:07", "2.00", "G", "supplier1"),
        ("08:08", "2.00", "B", "supplier3"), ("08:09", "5.00", "D", "supplier4"), ("08:11", "2.00", "B", "supplier3"),
        ("08:13", "1.00", "E", "supplier1"), ("08:15", "3.00", "H", "supplier2"), ("08:17", "6.00", "F", "supplier5")]
hm = lambda s: day.replace(hour=int(s[:2]), minute=int(s[3:]))
lines = [{"arrival": ts(hm(b) + timedelta(seconds=1)), "stream": "Bid",
          "data": {"bidtime": ts(hm(b)), "price": float(p), "item": i, "supplier_id": s}} for b, p, i, s in bids]
gap = timedelta(minutes=5)
sessions = {}
for b, p, i, s in bids:
    t = hm(b)
    ss = sessions.setdefault(i, [])
    start, end, total = t, t + gap, int(p.replace(".", ""))
    keep = []
    for (s0, e0, tot) in ss:
        if s0 < end and t < e0:
            start, end, total = min(start, s0), max(end, e0), total + tot
        else:
            keep.append((s0, e0, tot))
    keep.append((start, end, total))
    sessions[i] = keep
flat = [(e, i, s0, tot) for i, ss in sessions.items() for (s0, e, tot) in ss]
# Each session fires at the first row whose watermark passes its end, or
# at the end of the input; it is emitted at that row's arrival.
def fired_at(end):
    for b, p, i, s in bids:
        if hm(b) - timedelta(seconds=1) + timedelta(milliseconds=1) >= end:
            return hm(b) + timedelta(seconds=1), hm(b)
    return hm(bids[-1][0]) + timedelta(seconds=1), None
exp = []
order = sorted(flat, key=lambda x: (fired_at(x[0])[1] or datetime.max, x[0], x[1]))
for e, i, s0, tot in order:
    exp.append({"stream": "QUERY_1", "ROWTIME": ts(fired_at(e)[0]), "window_start": ts(s0), "window_end": ts(e), "item": i,
                "total_price": tot / 100})
write_case("flink-session", None, lines, exp)

# Stream joins: trades, then the orders they belong to 2 s or 70 s later
# (inside and outside the one-minute window), and orders with no trade.
r = lcg(23)
events = []
for k in range(24):
    t0k = T0 + timedelta(seconds=5 * k)
    tk = ["AMZN", "MSFT", "WMT"][next(r) % 3]
    if k % 4 != 3:
        events.append((t0k, {"kind": "trade", "oid": k, "ticker": None, "amount": next(r) % 500 + 1}))
        if next(r) % 2:
            events.append((t0k + timedelta(seconds=1), {"kind": "trade", "oid": k, "ticker": None, "amount": next(r) % 500 + 1}))
    delay = 70 if k % 6 == 5 else 2
    events.append((t0k + timedelta(seconds=delay), {"kind": "order", "oid": k, "ticker": tk, "amount": next(r) % 900 + 100}))
events.sort(key=lambda e: e[0])
lines = [rec(dt, d) for dt, d in events]
for kind in ["inner", "left"]:
    exp = []
    trades = []
    for dt, d in events:
        if d["kind"] == "order":
            exp.append({"stream": "ORDER_STREAM", "ROWTIME": ts(dt), "ORDER_ID": d["oid"], "TICKER": d["ticker"], "AMOUNT": d["amount"]})
            hits = [a for (tt, oid, a) in trades if oid == d["oid"] and dt - timedelta(minutes=1) <= tt <= dt]
            for a in hits:
                exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "ORDER_TIME": ts(dt), "ORDER_ID": d["oid"], "TICKER": d["ticker"], "ORDER_AMOUNT": d["amount"], "TRADE_AMOUNT": a})
            if not hits and kind == "left":
                exp.append({"stream": "DESTINATION_SQL_STREAM", "ROWTIME": ts(dt), "ORDER_TIME": ts(dt), "ORDER_ID": d["oid"], "TICKER": d["ticker"], "ORDER_AMOUNT": d["amount"], "TRADE_AMOUNT": None})
        else:
            exp.append({"stream": "TRADE_STREAM", "ROWTIME": ts(dt), "ORDER_ID": d["oid"], "AMOUNT": d["amount"]})
            trades.append((dt, d["oid"], d["amount"]))
    write_case(f"kda-stream-join-{kind}", None, lines, exp)
