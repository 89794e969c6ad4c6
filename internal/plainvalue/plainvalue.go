// Package plainvalue turns decoded YAML or JSON, and Go maps and slices of
// any type, into the plain values encoding/json produces: map[string]any,
// []any and scalars. The catalog and the config loader both need this, so
// that a YAML map[any]any or a map[string]string matches on lookup exactly
// like the JSON a Backstage backend would see.
package plainvalue

import (
	"fmt"
	"reflect"
)

// Copy deep-copies v into plain values: every map becomes map[string]any
// (keys rendered with fmt.Sprint), every slice or array becomes []any (a nil
// slice stays nil), pointers and interfaces are followed (nil becomes nil),
// and any other value is returned as it is. v is never modified and the
// result shares no map or slice with it.
func Copy(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string, bool, int, int64, float64, uint64:
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = Copy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = Copy(x)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = Copy(it.Value().Interface())
		}
		return out
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Copy(rv.Index(i).Interface())
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return Copy(rv.Elem().Interface())
	}
	return v
}

// CopyMap is Copy for a map: nil gives nil, anything else a deep copy with
// every nested value made plain.
func CopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	n, _ := Copy(m).(map[string]any)
	return n
}
