# table.awk — one Markdown row of bench/run's table from its results file
# (lines: round pair run req/s p50_ms p99_ms errors detail others%; detail is "-" or
# the answers that were not 2xx by status and wrk's socket errors by kind, summed
# over the rounds into the note: "401:2,503:1,timeout:3"). Variables: c (the case),
# ref (its reference), target (a ratio, or "-"), what (the description).
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(side, detail,    parts, kv, i, n) {
    if (detail == "-" || detail == "") return
    n = split(detail, parts, ",")
    for (i = 1; i <= n; i++) {
        split(parts[i], kv, ":")
        if (!((side, kv[1]) in count)) order[side] = order[side] (order[side] == "" ? "" : " ") kv[1]
        count[side, kv[1]] += kv[2]
    }
}
function describe(side,    keys, i, n, out, k) {
    n = split(order[side], keys, " ")
    for (i = 1; i <= n; i++) {
        k = keys[i]
        out = out (out == "" ? "" : ", ") (k ~ /^[0-9]+$/ ? "HTTP " k : "socket " k) " ×" count[side, k]
    }
    return out == "" ? "none" : out
}
$2 == c && $3 == c   { n++; rps[n] = $4; p50[n] = $5; p99[n] = $6; err += $7; mine[$1] = $4; add("c", $8) }
$2 == c && $3 == ref { m++; rrps[m] = $4; theirs[$1] = $4; err_ref += $7; add("r", $8) }
END {
    if (!n) exit
    for (r in mine) if (r in theirs && theirs[r] > 0) ratio[++k] = mine[r] / theirs[r]
    q = k ? median(ratio, k) : 0
    verdict = target == "-" ? "none" : \
        (q >= target ? sprintf("≥ %d%%: met", target * 100) \
                     : sprintf("≥ %d%%: missed by %.1f points", target * 100, (target - q) * 100))
    note = order["c"] order["r"] != "" ? \
        sprintf(" (errors: %s; reference: %s)", describe("c"), describe("r")) : ""
    printf "| %s | %.0f | %.2f | %.2f | %s | %.0f | %.1f%% | %s%s |\n", what, median(rps, n),
        median(p50, n), median(p99, n), ref, median(rrps, m), q * 100, verdict, note
}
