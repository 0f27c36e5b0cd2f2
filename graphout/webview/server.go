package webview

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ServerCSP is the Content-Security-Policy header of every response of
// the server: scripts, styles and requests only to the server itself.
const ServerCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Server serves one model, and rescans it when it is live: the page, its
// own assets and its API, nothing else.
type Server struct {
	// hosts are the Host header values requests may carry; nil accepts
	// any (a listener the user put on the network on purpose).
	hosts map[string]bool
	// rescan makes a new model; nil when the model is not of the live host.
	rescan func(context.Context) (*Model, error)

	mu       sync.Mutex
	model    []byte
	scanning bool
}

// NewServer serves m on the address addr it listens on. rescan, if not
// nil, makes the model anew for the page's Rescan button. Requests must
// name addr in their Host header (a loopback address also as
// "localhost"), which stops DNS rebinding: a page of another site whose
// name resolves to 127.0.0.1 sends its own name. With anyHost, as for
// a listener on a network address, any Host is accepted.
func NewServer(m *Model, addr net.Addr, anyHost bool, rescan func(context.Context) (*Model, error)) (*Server, error) {
	s := &Server{rescan: rescan}
	if err := s.set(m); err != nil {
		return nil, err
	}
	if !anyHost {
		s.hosts = map[string]bool{}
		host, port, err := net.SplitHostPort(addr.String())
		if err != nil {
			return nil, err
		}
		s.hosts[net.JoinHostPort(host, port)] = true
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			s.hosts["localhost:"+port] = true
		}
	}
	return s, nil
}

func (s *Server) set(m *Model) error {
	m.Live = s.rescan != nil
	data, err := dataJSON(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.model = data
	s.mu.Unlock()
	return nil
}

// ServeHTTP answers GET /, the assets, GET /api/model and POST
// /api/rescan; every other path is 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ServerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if s.hosts != nil && !s.hosts[strings.ToLower(r.Host)] {
		http.Error(w, "kcmpgraph: unknown Host header (this server answers only to its own address)", http.StatusMisdirectedRequest)
		return
	}
	if r.URL.Path == "/api/rescan" {
		s.serveRescan(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/":
		head := `<link rel="stylesheet" href="assets/app.css">`
		scripts := `<script src="assets/svg-pan-zoom.min.js"></script>` + "\n" + `<script src="assets/app.js"></script>`
		send(w, "text/html; charset=utf-8", page(head, "", scripts))
	case "/assets/app.js":
		send(w, "text/javascript; charset=utf-8", asset("assets/app.js"))
	case "/assets/svg-pan-zoom.min.js":
		send(w, "text/javascript; charset=utf-8", asset(panZoomJS))
	case "/assets/app.css":
		send(w, "text/css; charset=utf-8", asset("assets/app.css"))
	case "/api/model":
		s.mu.Lock()
		data := s.model
		s.mu.Unlock()
		send(w, "application/json", data)
	default:
		http.NotFound(w, r)
	}
}

func send(w http.ResponseWriter, typ string, body []byte) {
	w.Header().Set("Content-Type", typ)
	w.Write(body)
}

// serveRescan scans again, for a POST from the page itself: its Origin
// must be this server (a form or script of another site cannot start a
// scan), and one scan runs at a time.
func (s *Server) serveRescan(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Origin") != "http://"+r.Host {
		http.Error(w, "kcmpgraph: rescan is only for the page this server serves (Origin)", http.StatusForbidden)
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "kcmpgraph: rescan is only for the page this server serves (Sec-Fetch-Site)", http.StatusForbidden)
		return
	}
	if s.rescan == nil {
		http.Error(w, "kcmpgraph: this view is of a snapshot file; there is nothing to rescan", http.StatusConflict)
		return
	}
	s.mu.Lock()
	if s.scanning {
		s.mu.Unlock()
		http.Error(w, "kcmpgraph: a scan is running", http.StatusConflict)
		return
	}
	s.scanning = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.scanning = false
		s.mu.Unlock()
	}()
	m, err := s.rescan(r.Context())
	if err == nil {
		err = s.set(m)
	}
	if err != nil {
		http.Error(w, "kcmpgraph: rescan failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	data := s.model
	s.mu.Unlock()
	send(w, "application/json", data)
}

// Serve serves h on ln until ctx is done, then shuts down gracefully:
// requests in flight get up to five seconds to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
