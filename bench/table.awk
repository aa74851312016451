# table.awk — one Markdown row of bench/run's table from its results file
# (lines: round pair run req/s p50_ms p99_ms errors). Variables: c (the case),
# ref (its reference), target (a ratio, or "-"), what (the description).
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$2 == c && $3 == c   { n++; rps[n] = $4; p50[n] = $5; p99[n] = $6; err += $7; mine[$1] = $4 }
$2 == c && $3 == ref { m++; rrps[m] = $4; theirs[$1] = $4; err_ref += $7 }
END {
    if (!n) exit
    for (r in mine) if (r in theirs && theirs[r] > 0) ratio[++k] = mine[r] / theirs[r]
    q = k ? median(ratio, k) : 0
    verdict = target == "-" ? "none" : \
        (q >= target ? sprintf("≥ %d%%: met", target * 100) \
                     : sprintf("≥ %d%%: missed by %.1f points", target * 100, (target - q) * 100))
    note = err + err_ref ? sprintf(" (%d error answers)", err + err_ref) : ""
    printf "| %s | %.0f | %.2f | %.2f | %s | %.0f | %.1f%% | %s%s |\n", what, median(rps, n),
        median(p50, n), median(p99, n), ref, median(rrps, m), q * 100, verdict, note
}
