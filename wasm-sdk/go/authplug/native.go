//go:build !wasip1

package authplug

import (
	"encoding/json"
	"fmt"
	"os"
)

// Native serves the host calls when a module is built for the machine
// rather than for wasip1, so its handlers run under go test.
var Native struct {
	// FindUser answers FindUser; nil makes it fail with "catalog unavailable".
	FindUser func(Query) (*User, error)
	// Log receives Logf lines; nil prints them to stderr.
	Log func(level int, msg string)
}

func hostLog(level int, msg string) {
	if Native.Log != nil {
		Native.Log(level, msg)
		return
	}
	fmt.Fprintf(os.Stderr, "authplug log %d: %s\n", level, msg)
}

func hostCatalogFind(q []byte) ([]byte, int64) {
	if Native.FindUser == nil {
		return nil, -3
	}
	var query Query
	if err := json.Unmarshal(q, &query); err != nil {
		return nil, -1
	}
	u, err := Native.FindUser(query)
	if err != nil {
		e := &Error{Name: "Error", Message: err.Error()}
		if ae, ok := err.(*Error); ok {
			e = ae
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"name": e.Name, "message": e.Message}})
		return b, int64(len(b))
	}
	b, _ := json.Marshal(u)
	return b, int64(len(b))
}

// Call runs the registered handler for "resolve", "transform" or "check"
// on an input JSON, as the host would, and returns the status and output.
func Call(export string, input []byte) (uint32, []byte) { return dispatch(export, input) }
