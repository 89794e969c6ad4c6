package server

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

// corsPolicy is the cors package's behaviour with Backstage's origin
// matcher: an origin that matches no pattern (or no Origin header at all)
// gets no CORS header whatsoever.
type corsPolicy struct {
	anyOrigin      bool
	patterns       []*regexp.Regexp
	methods        string
	allowedHeaders string // "" → reflect
	exposedHeaders string
	credentials    bool
	maxAge         string
	preflightNext  bool
	preflightCode  int
}

func newCORSPolicy(o httpedge.CORS) (*corsPolicy, error) {
	p := &corsPolicy{
		anyOrigin:     len(o.Origins) == 0,
		methods:       httpedge.DefaultCORSMethods,
		credentials:   o.Credentials,
		preflightNext: o.PreflightContinue,
		preflightCode: o.OptionsSuccessStatus,
	}
	for i, g := range o.Origins {
		re, err := globToRegexp(g)
		if err != nil {
			return nil, fmt.Errorf("origin[%d] %q: %w", i, g, err)
		}
		p.patterns = append(p.patterns, re)
	}
	if len(o.Methods) > 0 {
		p.methods = strings.Join(o.Methods, ",")
	}
	if len(o.AllowedHeaders) > 0 {
		hs := o.AllowedHeaders
		has := false
		for _, h := range hs {
			has = has || strings.EqualFold(h, "X-Requested-With")
		}
		if !has {
			hs = append(append([]string(nil), hs...), "X-Requested-With")
		}
		p.allowedHeaders = strings.Join(hs, ",")
	}
	p.exposedHeaders = strings.Join(o.ExposedHeaders, ",")
	if o.MaxAge >= 0 {
		p.maxAge = strconv.Itoa(o.MaxAge)
	}
	if p.preflightCode == 0 {
		p.preflightCode = httpedge.DefaultOptionsSuccessStatus
	}
	return p, nil
}

// allowOrigin is the Access-Control-Allow-Origin to send, or "" for none.
func (p *corsPolicy) allowOrigin(origin string) string {
	if p.anyOrigin {
		return "*"
	}
	for _, re := range p.patterns {
		if re.MatchString(origin) {
			return origin
		}
	}
	return ""
}

func (p *corsPolicy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := p.allowOrigin(r.Header.Get("Origin"))
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		if origin != "*" {
			h.Add("Vary", "Origin")
			if p.credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		if r.Method != http.MethodOptions {
			if p.exposedHeaders != "" {
				h.Set("Access-Control-Expose-Headers", p.exposedHeaders)
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Methods", p.methods)
		allowed := p.allowedHeaders
		if allowed == "" {
			allowed = r.Header.Get("Access-Control-Request-Headers")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if allowed != "" {
			h.Set("Access-Control-Allow-Headers", allowed)
		}
		if p.maxAge != "" {
			h.Set("Access-Control-Max-Age", p.maxAge)
		}
		if p.exposedHeaders != "" {
			h.Set("Access-Control-Expose-Headers", p.exposedHeaders)
		}
		if p.preflightNext {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Content-Length", "0")
		w.WriteHeader(p.preflightCode)
	})
}
