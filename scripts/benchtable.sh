#!/bin/sh
# Turns `go test -bench -benchmem` output into a table.
awk '
/^pkg:/ { pkg = $2; sub(/.*gatehouse\/?/, "", pkg); if (pkg == "") pkg = "."; next }
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
  ns = ""; b = ""; al = ""
  for (i = 3; i < NF; i++) {
    if ($(i+1) == "ns/op") ns = $i
    if ($(i+1) == "B/op") b = $i
    if ($(i+1) == "allocs/op") al = $i
  }
  rows[++n] = sprintf("| %-10s | %-42s | %14s | %10s | %10s |", pkg, name, ns, b, al)
}
/^(FAIL|--- FAIL)/ { failed = 1; print }
END {
  printf("| %-10s | %-42s | %14s | %10s | %10s |\n", "package", "benchmark", "ns/op", "B/op", "allocs/op")
  printf("|%s|%s|%s|%s|%s|\n", "------------", "--------------------------------------------", "----------------", "------------", "------------")
  for (i = 1; i <= n; i++) print rows[i]
  if (failed) exit 1
}'
