// Command gohostile is a misbehaving Go guest for containment tests; its
// config {"mode": …} picks the misbehaviour: panic, loop, alloc (grows
// memory past the limit), or ok (answers user:default/ok).
package main

import (
	"github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug"
)

type conf struct {
	Mode string `json:"mode"`
}

var sink [][]byte

func init() {
	authplug.HandleResolve(func(in authplug.Input) (authplug.Result, error) {
		var c conf
		if err := in.DecodeConfig(&c); err != nil {
			return authplug.Result{}, err
		}
		switch c.Mode {
		case "panic":
			panic("guest bug: secret=do-not-log")
		case "loop":
			for i := 0; ; i++ {
				if i < 0 {
					break
				}
			}
		case "alloc":
			for {
				sink = append(sink, make([]byte, 1<<20))
			}
		}
		return authplug.Result{EntityRef: "user:default/ok"}, nil
	})
}

func main() {}
