#!/usr/bin/env python3
"""Convert JMH's JSON result file (-rf json -rff FILE) into the benchmark result protocol of
benches/README.md: one line per benchmark,

  {"kind":"hot_path","impl":"flyteauth","lang":"Java FFM","label":"metadata (Java 25)",
   "ns_per_op":30.7,"bytes_per_op":0.0}

appended to RESULTS (bench.sh passes $FLYTEAUTH_BENCH_RESULTS).

  jmh-results.py LANG JMH_JSON RESULTS

LANG is "Java FFM" or "Java JNI". The label is the benchmark method and the major version of
the JVM that ran it (from the JSON's jdkVersion); bytes_per_op is gc.alloc.rate.norm (JMH's
-prof gc), left out when the run had no such profiler.
"""
import json
import sys

# JMH time units -> nanoseconds
NS = {"ns": 1.0, "us": 1e3, "\u00b5s": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9}


def ns_per_op(metric):
    """The primary metric in ns/op: average time ("ns/op") or throughput ("ops/ns")."""
    score, unit = metric["score"], metric["scoreUnit"]
    num, _, den = unit.partition("/")
    if den == "op" and num in NS:
        return score * NS[num]
    if num == "ops" and den in NS and score > 0:
        return NS[den] / score
    raise ValueError("unsupported JMH score unit %r" % unit)


def secondary(result, name):
    # JMH < 1.37 prefixed profiler metrics with a middle dot ("\u00b7gc.alloc.rate.norm").
    for key, metric in result.get("secondaryMetrics", {}).items():
        if key.lstrip("\u00b7") == name:
            return metric
    return None


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: jmh-results.py LANG JMH_JSON RESULTS")
    lang, source, results = argv[1:]
    with open(source, encoding="utf-8") as f:
        runs = json.load(f)
    if not runs:
        sys.exit("jmh-results.py: no results in " + source)
    lines = []
    for r in runs:
        method = r["benchmark"].rsplit(".", 1)[-1]
        major = r["jdkVersion"].split(".", 1)[0].split("-", 1)[0].split("+", 1)[0]
        line = {
            "kind": "hot_path",
            "impl": "flyteauth",
            "lang": lang,
            "label": "%s (Java %s)" % (method, major),
            "ns_per_op": round(ns_per_op(r["primaryMetric"]), 3),
        }
        norm = secondary(r, "gc.alloc.rate.norm")
        if norm is not None:
            if norm["scoreUnit"] != "B/op":
                raise ValueError("unexpected gc.alloc.rate.norm unit %r" % norm["scoreUnit"])
            # JMH reports an allocation-free loop as noise around 0 (e.g. 1e-4 B/op): keep it.
            line["bytes_per_op"] = float("%.4g" % norm["score"])
        lines.append(json.dumps(line, separators=(",", ":")) + "\n")
    # One write of all the lines, appended.
    with open(results, "a", encoding="utf-8") as f:
        f.write("".join(lines))


if __name__ == "__main__":
    main(sys.argv)
