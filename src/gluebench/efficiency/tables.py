"""A profile as terminal tables: what the model costs, and accuracy against cost per variant."""

from __future__ import annotations

from rich.table import Table


def human(value: float | None, unit: str = "", base: int = 1000) -> str:
    """``value`` with a k/M/G/T prefix: 22.7M, 1.12 GFLOP, 86.7 MB (base 1024: MiB)."""
    if value is None:
        return "-"
    prefixes = ("", "k", "M", "G", "T", "P")
    scaled, i = float(value), 0
    while abs(scaled) >= base and i < len(prefixes) - 1:
        scaled, i = scaled / base, i + 1
    prefix = prefixes[i] + ("i" if base == 1024 and i else "")
    digits = 0 if i == 0 and scaled == int(scaled) else (1 if abs(scaled) >= 10 else 2)
    return f"{scaled:.{digits}f} {prefix}{unit}".strip()


def profile_rows(doc: dict) -> list[tuple[str, str]]:
    """(measure, value) pairs of a profile, formatted for people."""
    env, params, size = doc["environment"], doc["parameters"], doc["size_on_disk_bytes"]
    flops, lat, tput = doc["flops_per_example"], doc["latency_ms"], doc["throughput"]
    memory = doc["peak_memory_bytes"]
    rates = ", ".join(f"{b}: {r:.0f}" for b, r in tput["by_batch_size"].items())
    return [
        ("model", doc["model"]),
        ("task", f"{doc['task'] or '-'} ({doc['examples']} examples, "
                 f"{doc['mean_tokens']:.1f} tokens on average)"),
        ("device", f"{env['device']}: {env['device_name']}, {env['threads']} threads, "
                   f"torch {env['torch']}"),
        ("parameters", f"{human(params['total'])} total, {human(params['trainable'])} "
                       "trainable"),
        ("size on disk", f"{human(size['weights'], 'B', 1024)} weights, "
                         f"{human(size['folder'], 'B', 1024)} folder"),
        ("FLOPs / example", f"{human(flops['counted'], 'FLOP')} counted at "
                            f"{flops['tokens']:.1f} tokens (formula "
                            f"{human(flops['formula'], 'FLOP')}, ratio "
                            f"{flops['counted_over_formula']:.2f})"),
        (f"FLOPs at {flops['length']}", f"{human(flops['counted_at_128'], 'FLOP')} counted "
                                        f"(formula {human(flops['formula_at_128'], 'FLOP')})"),
        ("latency (batch 1)", f"p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms "
                              f"({lat['repeats']} runs)"),
        ("throughput", f"{tput['examples_per_second']:.0f} examples/s at batch "
                       f"{tput['best_batch_size']} (by batch size: {rates})"
                       + (f"; out of memory at batch {tput['out_of_memory_at']}"
                          if tput.get("out_of_memory_at") else "")),
        ("peak memory", f"{human(memory['value'], 'B', 1024)} (baseline "
                        f"{human(memory['baseline'], 'B', 1024)}; {memory['method']})"),
    ]


def profile_table(doc: dict) -> Table:
    """The profile's measures, one per row."""
    table = Table(title=f"Profile: {doc['model']}", show_header=False)
    table.add_column("measure", style="bold")
    table.add_column("value")
    for measure, value in profile_rows(doc):
        table.add_row(measure, value)
    return table


def variant_rows(doc: dict) -> list[list[str]]:
    """Accuracy against cost, one row per variant (skipped variants say why)."""
    rows = []
    for v in doc.get("variants", []):
        if "skipped" in v:
            rows.append([v["name"], f"skipped: {v['skipped']}", "", "", "", "", ""])
            continue
        score = "-" if v.get("score") is None else f"{v['score']:.1f}"
        agree = "-" if v.get("agreement") is None else f"{100 * v['agreement']:.1f}%"
        rows.append([v["name"], score, agree, f"{v['latency_ms_p50']:.2f}",
                     f"{v['latency_ms_p95']:.2f}", f"{v['examples_per_second']:.0f}",
                     human(v["size_bytes"], "B", 1024)])
    return rows


def variants_table(doc: dict) -> Table:
    """Score, agreement with fp32, latency, throughput and size of each variant."""
    metric = next((v.get("metric") for v in doc.get("variants", []) if v.get("metric")), None)
    table = Table(title="Accuracy against cost" + (f" ({doc['task']} dev)" if doc["task"]
                                                    else ""))
    for name in ("variant", f"score ({metric})" if metric else "score", "agrees with fp32",
                 "p50 ms", "p95 ms", "examples/s", "size"):
        table.add_column(name, justify="left" if name == "variant" else "right")
    for row in variant_rows(doc):
        table.add_row(*row)
    return table


def profile_tables(doc: dict) -> list[Table]:
    """Both tables, to print one after the other."""
    return [profile_table(doc), variants_table(doc)]
