package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/keypath"
)

// Problem is one thing wrong with the configuration: its key path and a
// message that never contains a secret value.
type Problem = keypath.Problem

// Problems is every problem found while loading, sorted by Path. Load,
// LoadWith and LoadBytes return a non-empty Problems as their error.
type Problems = keypath.Problems

// sortProblems sorts by Path, then Message, keeping order otherwise stable,
// and removes exact duplicates.
func sortProblems(ps Problems) Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Path != ps[j].Path {
			return ps[i].Path < ps[j].Path
		}
		return ps[i].Message < ps[j].Message
	})
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// joinPath appends a map key to a key path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a key path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// closest returns the known key nearest to key (case-insensitive Levenshtein
// distance ≤ 2), or "" when none is that close.
func closest(key string, known []string) string {
	best, bestD := "", 3
	lk := strings.ToLower(key)
	for _, k := range known {
		d := levenshtein(lk, strings.ToLower(k))
		if d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
