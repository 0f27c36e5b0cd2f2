//go:build linux

package main

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/graphout/webview"
)

func newWebCmd() *cobra.Command {
	var view *viewFlags
	var listen string
	cmd := &cobra.Command{
		Use:   "web [SNAPSHOT [AFTER]] [--listen ADDR]",
		Short: "Serve the interactive view on a local port",
		Long: `web serves the interactive view, the page that report writes, on a local
port, like "go tool pprof -http": of the live host (without SNAPSHOT; the
page's Rescan button scans again), of a snapshot, or of the changes
between two. It prints the URL and serves until interrupted (Ctrl-C or
SIGTERM), then shuts down gracefully.

By default it listens on a free port of 127.0.0.1. --listen chooses the
address: a loopback address or localhost serves this machine only; any
other address (0.0.0.0 for every interface) must be named as an IP
address and serves everyone who can reach it, with a warning: the page
shows every process, command line and open file of the scan. A HOST:PORT
without a host (":8080") is refused.

The server serves only its page, its own scripts and style, and its API
(GET /api/model, POST /api/rescan); it sends a strict
Content-Security-Policy, nosniff and no CORS headers, answers only
requests whose Host names its own address (a DNS rebinding page sends
its own), and rescans only for a POST whose Origin is itself.` + viewHelp + selectionHelp,
		Example: `  kcmpgraph web                                  # this host, with Rescan
  kcmpgraph web host.json --listen 127.0.0.1:8080
  kcmpgraph web before.json after.json
  kcmpgraph web --tree 1234 --types file,epoll`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, port, err := net.SplitHostPort(listen)
			if err != nil {
				return usagef("--listen: %q is not HOST:PORT (for example 127.0.0.1:8080)", listen)
			}
			var ip net.IP
			switch {
			case host == "":
				return usagef("--listen: %q names no address and would listen on every interface; say 127.0.0.1:%s, or 0.0.0.0:%s to serve the network", listen, port, port)
			case host == "localhost":
				ip = net.IPv4(127, 0, 0, 1)
			default:
				if ip = net.ParseIP(host); ip == nil {
					return usagef("--listen: %q: give an IP address or localhost, not a host name", listen)
				}
			}
			// Listen first: a bad or busy port is said before a scan of
			// the host costs seconds of CPU.
			ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), port))
			if err != nil {
				return usagef("--listen: %v", err)
			}
			defer ln.Close()
			m, err := view.model(cmd, args)
			if err != nil {
				return err
			}
			network := !ip.IsLoopback()
			var rescan func(context.Context) (*webview.Model, error)
			if len(args) == 0 {
				// A rescan runs in the command's context: Ctrl-C ends it.
				rescan = func(context.Context) (*webview.Model, error) { return view.model(cmd, nil) }
			}
			srv, err := webview.NewServer(m, ln.Addr(), network, rescan)
			if err != nil {
				return err
			}
			if network && !quietFlag(cmd) {
				fmt.Fprintf(cmd.ErrOrStderr(), "kcmpgraph: warning: serving on %s, not a loopback address: everyone who can reach it sees every process, command line and open file of this scan\n", ln.Addr())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kcmpgraph: serving http://%s/ (Ctrl-C stops)\n", ln.Addr())
			return webview.Serve(cmd.Context(), ln, srv)
		},
	}
	view = addViewFlags(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on, IP:PORT (port 0: a free one); a non-loopback address serves the network")
	return cmd
}
