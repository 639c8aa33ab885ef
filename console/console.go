// Package console serves Belfry's web console: a static bundle (dist/, built
// from web/ by `npm --prefix console/web run build` and committed, so `go
// build` needs no Node) that signs its own API calls in the browser with the
// AWS SDK for JavaScript v3. The server only hands out files; the console has
// no access the API would not give the same key.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed dist
var dist embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Handler serves the bundle under Prefix.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The bundle talks only to this server: the API (same origin) and the
		// messaging-session websocket, which may be on the other listener.
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' wss: ws:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// A new binary may carry a new bundle under the same names.
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
