package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const plainNumberMessage = "The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"

const (
	msPerSecond = 1000.0
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
	msPerWeek   = 7 * msPerDay
)

// durationObjectKeys are the keys of Backstage's HumanDuration object form,
// with their length in milliseconds (years = 365 d, months = 30 d, as in
// @backstage/types durationToMilliseconds).
var durationObjectKeys = map[string]float64{
	"years":        365 * msPerDay,
	"months":       30 * msPerDay,
	"weeks":        msPerWeek,
	"days":         msPerDay,
	"hours":        msPerHour,
	"minutes":      msPerMinute,
	"seconds":      msPerSecond,
	"milliseconds": 1,
}

var durationObjectKeyList = []string{"years", "months", "weeks", "days", "hours", "minutes", "seconds", "milliseconds"}

// msRe is the grammar of the `ms` npm library, with the unit made
// mandatory by the caller (a unit-less number is rejected).
var msRe = regexp.MustCompile(`(?i)^(-?(?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$`)

// isoRe is an ISO 8601 duration (as accepted by luxon's Duration.fromISO):
// PnYnMnWnDTnHnMnS with optional fractions.
var isoRe = regexp.MustCompile(`^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

var isoUnits = []float64{365 * msPerDay, 30 * msPerDay, msPerWeek, msPerDay, msPerHour, msPerMinute, msPerSecond}

// ParseDuration reads a duration value the way Backstage's
// readDurationFromConfig does. It accepts:
//
//   - a string starting with "P": an ISO 8601 duration (PnYnMnWnDTnHnMnS,
//     fractions allowed; a year is 365 days and a month 30 days);
//   - any other string: the `ms` library syntax, a number, optional spaces
//     and a case-insensitive unit (ms, s, sec, m, min, h, hr, d, day, w, week,
//     y, yr, year and their long/plural forms; a year is 365.25 days), e.g.
//     "24h", "2 days", "1.5h";
//   - a map {years, months, weeks, days, hours, minutes, seconds,
//     milliseconds} of numbers; any other key is rejected, naming it.
//
// A plain number (a YAML/JSON number or a string of digits) is rejected with
// Backstage's message "The value cannot be a plain number; try adding a unit
// like 'ms' or 'seconds'". Errors for bad strings quote the string.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, errors.New("expected a duration, got null")
	case string:
		return parseDurationString(x)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return 0, errors.New(plainNumberMessage)
	case map[string]any:
		return parseDurationObject(x)
	case map[any]any:
		return parseDurationObject(stringKeys(x))
	default:
		return 0, fmt.Errorf("expected a duration string like \"1h\" or an object like {hours: 1}, got %s", describe(v, false))
	}
}

func parseDurationString(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "P") {
		m := isoRe.FindStringSubmatch(t)
		if m == nil || t == "P" || strings.HasSuffix(t, "T") {
			return 0, fmt.Errorf("invalid ISO 8601 duration %q", s)
		}
		total := 0.0
		for i, part := range m[1:] {
			if part == "" {
				continue
			}
			f, err := strconv.ParseFloat(strings.ReplaceAll(part, ",", "."), 64)
			if err != nil {
				return 0, fmt.Errorf("invalid ISO 8601 duration %q", s)
			}
			total += f * isoUnits[i]
		}
		return msToDuration(total, s)
	}
	if len(t) > 100 {
		return 0, fmt.Errorf("invalid duration %q: too long", s[:40]+"…")
	}
	m := msRe.FindStringSubmatch(t)
	if m == nil {
		return 0, fmt.Errorf("invalid duration %q; expected e.g. \"24h\", \"2 days\" or an ISO 8601 duration like \"PT1H\"", s)
	}
	if m[2] == "" {
		return 0, errors.New(plainNumberMessage)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var unit float64
	switch strings.ToLower(m[2]) {
	case "years", "year", "yrs", "yr", "y":
		unit = 365.25 * msPerDay
	case "weeks", "week", "w":
		unit = msPerWeek
	case "days", "day", "d":
		unit = msPerDay
	case "hours", "hour", "hrs", "hr", "h":
		unit = msPerHour
	case "minutes", "minute", "mins", "min", "m":
		unit = msPerMinute
	case "seconds", "second", "secs", "sec", "s":
		unit = msPerSecond
	default: // milliseconds, millisecond, msecs, msec, ms
		unit = 1
	}
	return msToDuration(n*unit, s)
}

func parseDurationObject(m map[string]any) (time.Duration, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := durationObjectKeys[k]; !ok {
			return 0, fmt.Errorf("unknown duration key %q; expected one of %s", k, strings.Join(durationObjectKeyList, ", "))
		}
	}
	if len(keys) == 0 {
		return 0, fmt.Errorf("a duration object needs at least one of %s", strings.Join(durationObjectKeyList, ", "))
	}
	total := 0.0
	for _, k := range keys {
		f, ok := toFloat(m[k])
		if !ok {
			return 0, fmt.Errorf("duration key %q: expected a number, got %s", k, describe(m[k], false))
		}
		total += f * durationObjectKeys[k]
	}
	return msToDuration(total, "")
}

func msToDuration(ms float64, orig string) (time.Duration, error) {
	ns := math.Round(ms * float64(time.Millisecond))
	if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
		if orig != "" {
			return 0, fmt.Errorf("duration %q is out of range", orig)
		}
		return 0, errors.New("duration is out of range")
	}
	return time.Duration(ns), nil
}

// toFloat converts any numeric value (YAML ints, JSON float64s,
// json.Number) to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
