package plainvalue

import (
	"reflect"
	"testing"
)

func TestCopy(t *testing.T) {
	s := "x"
	var nilPtr *string
	in := map[string]any{
		"yaml":    map[any]any{1: "one", "k": []any{map[any]any{true: 2}}},
		"labels":  map[string]string{"a": "b"},
		"ints":    []int{1, 2},
		"array":   [2]string{"p", "q"},
		"ptr":     &s,
		"nilPtr":  nilPtr,
		"nilList": []string(nil),
		"scalar":  3.5,
	}
	want := map[string]any{
		"yaml":    map[string]any{"1": "one", "k": []any{map[string]any{"true": 2}}},
		"labels":  map[string]any{"a": "b"},
		"ints":    []any{1, 2},
		"array":   []any{"p", "q"},
		"ptr":     "x",
		"nilPtr":  nil,
		"nilList": nil,
		"scalar":  3.5,
	}
	got := CopyMap(in)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CopyMap =\n%#v\nwant\n%#v", got, want)
	}
	// The copy shares nothing with the input.
	got["yaml"].(map[string]any)["k"].([]any)[0].(map[string]any)["true"] = 3
	if in["yaml"].(map[any]any)["k"].([]any)[0].(map[any]any)[true] != 2 {
		t.Error("changing the copy changed the input")
	}
	if CopyMap(nil) != nil {
		t.Error("CopyMap(nil) != nil")
	}
	if Copy(nil) != nil {
		t.Error("Copy(nil) != nil")
	}
}
