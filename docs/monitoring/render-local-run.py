#!/usr/bin/env python3
"""Scrape a running chain service's /metrics for a while and draw what a newcomer should expect
to see: chain head height per node, blocks per miner, the message queue, and the wallets and
provers connected at the gateway. Writes one PNG (docs/monitoring/local-run.png by default).

    python3 -m venv ~/.cache/venus-monitoring-venv
    ~/.cache/venus-monitoring-venv/bin/pip install matplotlib
    ~/.cache/venus-monitoring-venv/bin/python docs/monitoring/render-local-run.py \
        --target venus=http://127.0.0.1:3453/metrics \
        --target venus-gateway=http://127.0.0.1:45132/metrics \
        --target venus-messager=http://127.0.0.1:39812/metrics \
        --target venus-miner=http://127.0.0.1:12308/metrics \
        --minutes 5

Targets that do not answer are drawn as "not scraped"; nothing else is needed (no Prometheus).
"""

import argparse
import re
import sys
import time
import urllib.request
from collections import defaultdict

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} of a Prometheus/OpenMetrics text page."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            continue
    return out


def scrape(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return parse(r.read().decode("utf-8", "replace"))
    except OSError as e:
        print(f"scrape {url}: {e}", file=sys.stderr)
        return None


def series(samples, name, key=lambda labels: ""):
    """Sum of the samples of `name`, grouped by key(labels)."""
    out = defaultdict(float)
    for (n, labels), v in samples.items():
        if n == name:
            out[key(dict(labels))] += v
    return out


def collect(targets, minutes, interval):
    """[(seconds since start, {job: samples or None})]"""
    rows = []
    start = time.time()
    end = start + minutes * 60
    while True:
        t = time.time()
        rows.append((t - start, {job: scrape(url) for job, url in targets.items()}))
        if t >= end:
            return rows
        time.sleep(max(0.0, min(interval, end - time.time())))


def lines(rows, job, name, key):
    """{series label: ([t], [v])} over the run."""
    out = defaultdict(lambda: ([], []))
    for t, scraped in rows:
        samples = scraped.get(job)
        if not samples:
            continue
        for label, v in series(samples, name, key).items():
            out[label][0].append(t / 60)
            out[label][1].append(v)
    return out


def why_empty(rows, job, metric, not_running):
    """What an empty panel says: the job never answered, or it has no such series yet."""
    if any(scraped.get(job) for _, scraped in rows):
        return f"{job} answers but has no\n{metric} series yet"
    return not_running


def draw(ax, title, data, ylabel, missing, stacked=False, from_zero=False):
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel("minutes")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if not data:
        ax.text(0.5, 0.5, missing, ha="center", va="center", transform=ax.transAxes,
                color="grey", fontsize=10, wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    if stacked:
        # Series start when first observed: align them on every scrape time, 0 before.
        labels = sorted(data)
        ts = sorted({t for lb in labels for t in data[lb][0]})
        ys = [[dict(zip(*data[lb])).get(t, 0) for t in ts] for lb in labels]
        ax.stackplot(ts, ys, labels=labels, alpha=0.8, step="post")
    else:
        # Different dashes, so lines that coincide (head and clock, 1 wallet and 1 prover)
        # stay visible.
        for label, style in zip(sorted(data), ["-", "--", ":", "-."] * 8):
            t, v = data[label]
            ax.plot(t, v, label=label, linewidth=1.8, linestyle=style, drawstyle="steps-post")
    if from_zero:
        ax.set_ylim(bottom=0, top=max(max(v) for _, v in data.values()) * 1.15 + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="upper left")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", action="append", default=[], metavar="JOB=URL",
                   help="a /metrics URL; JOB is venus, venus-gateway, venus-messager, venus-miner, …")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--interval", type=float, default=5.0, help="seconds between scrapes")
    p.add_argument("--out", default="docs/monitoring/local-run.png")
    p.add_argument("--title", default="venus chain service, local devnet")
    args = p.parse_args()
    targets = {}
    for t in args.target:
        job, sep, url = t.partition("=")
        if not sep or not url.startswith("http"):
            p.error(f"--target {t!r}: expected JOB=http://host:port/metrics")
        targets[job] = url
    if not targets:
        p.error("give at least one --target")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = collect(targets, args.minutes, args.interval)
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    fig.suptitle(f"{args.title} — {args.minutes:g} minutes, a scrape every {args.interval:g} s",
                 fontsize=13)

    heads = lines(rows, "venus", "venus_node_head_height", lambda l: "head")
    heads.update(lines(rows, "venus", "venus_node_expected_height", lambda l: "expected (clock)"))
    draw(axes[0][0], "Chain head height (venus_node_head_height)", heads, "epoch",
         why_empty(rows, "venus", "venus_node_head_height", "venus not scraped"))

    mined = lines(rows, "venus-miner", "venus_miner_blocks_mined_total",
                  lambda l: f"{l.get('miner', '?')} mined")
    for label, (t, v) in lines(rows, "venus-miner", "venus_miner_blocks_won_total",
                               lambda l: f"{l.get('miner', '?')} won").items():
        mined[label] = (t, v)
    draw(axes[0][1], "Blocks per miner (venus_miner_blocks_*_total)", mined, "blocks",
         why_empty(rows, "venus-miner", "venus_miner_blocks_mined_total",
                   "venus-miner not running:\nno blocks are mined"))

    queue = lines(rows, "venus-messager", "venus_messager_messages",
                  lambda l: l.get("state", "?"))
    queue.pop("onchain", None)
    draw(axes[1][0], "Message queue by state (venus_messager_messages)", queue, "messages",
         why_empty(rows, "venus-messager", "venus_messager_messages",
                   "venus-messager not running:\nno message queue"), stacked=True)

    conns = lines(rows, "venus-gateway", "venus_gateway_connections",
                  lambda l: f"{l.get('kind', '?')} {l.get('account', '')}".strip())
    draw(axes[1][1], "Wallets and provers at the gateway (venus_gateway_connections)", conns,
         "connections",
         why_empty(rows, "venus-gateway", "venus_gateway_connections", "venus-gateway not scraped"),
         from_zero=True)

    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out} ({len(rows)} scrapes)")


if __name__ == "__main__":
    main()
