#!/bin/sh
# Turns `go test -bench -benchmem` output into a table. Metrics other than
# ns/op, B/op and allocs/op (b.ReportMetric) go to the last column.
awk '
/^pkg:/ { pkg = $2; sub(/.*gatehouse\/?/, "", pkg); if (pkg == "") pkg = "."; next }
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
  ns = ""; b = ""; al = ""; extra = ""
  for (i = 3; i < NF; i++) {
    u = $(i+1)
    if (u == "ns/op") ns = $i
    else if (u == "B/op") b = $i
    else if (u == "allocs/op") al = $i
    else if (u ~ /\/op$/) extra = extra (extra == "" ? "" : ", ") $i " " u
  }
  rows[++n] = sprintf("| %-10s | %-30s | %12s | %9s | %9s | %-40s |", pkg, name, ns, b, al, extra)
}
/^(FAIL|--- FAIL)/ { failed = 1; print }
END {
  printf("| %-10s | %-30s | %12s | %9s | %9s | %-40s |\n", "package", "benchmark", "ns/op", "B/op", "allocs/op", "other")
  printf("|------------|--------------------------------|--------------|-----------|-----------|------------------------------------------|\n")
  for (i = 1; i <= n; i++) print rows[i]
  if (failed) exit 1
}'
