package probe

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/clip"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		str  string // String(), when it differs from in
	}{
		{"http://127.0.0.1:8080/readyz", Target{Scheme: SchemeHTTP, Addr: "127.0.0.1:8080", Path: "/readyz"}, ""},
		{"http://127.0.0.1:8080", Target{Scheme: SchemeHTTP, Addr: "127.0.0.1:8080", Path: "/"}, "http://127.0.0.1:8080/"},
		{"http://localhost/healthz?verbose", Target{Scheme: SchemeHTTP, Addr: "localhost", Path: "/healthz?verbose"}, ""},
		{"http://localhost/healthz?", Target{Scheme: SchemeHTTP, Addr: "localhost", Path: "/healthz?"}, ""},
		{"http://[::1]:8080/livez", Target{Scheme: SchemeHTTP, Addr: "[::1]:8080", Path: "/livez"}, ""},
		{"HTTP://Example.COM/a%20b", Target{Scheme: SchemeHTTP, Addr: "Example.COM", Path: "/a%20b"}, "http://Example.COM/a%20b"},
		{"https://app.internal:8443/readyz", Target{Scheme: SchemeHTTPS, Addr: "app.internal:8443", Path: "/readyz"}, ""},
		{"grpc://127.0.0.1:9090", Target{Scheme: SchemeGRPC, Addr: "127.0.0.1:9090"}, ""},
		{"grpc://127.0.0.1:9090/", Target{Scheme: SchemeGRPC, Addr: "127.0.0.1:9090"}, "grpc://127.0.0.1:9090"},
		{"grpc://127.0.0.1:9090/orders.v1.Orders", Target{Scheme: SchemeGRPC, Addr: "127.0.0.1:9090", Service: "orders.v1.Orders"}, ""},
		{"grpcs://[::1]:443/x", Target{Scheme: SchemeGRPCS, Addr: "[::1]:443", Service: "x"}, ""},
		{"http://[fe80::1%25eth0]:80/", Target{Scheme: SchemeHTTP, Addr: "[fe80::1%eth0]:80", Path: "/"}, ""},
		{"grpc://[fe80::1%25eth0]:80", Target{Scheme: SchemeGRPC, Addr: "[fe80::1%eth0]:80"}, ""},
		{"tcp://127.0.0.1:5432", Target{Scheme: SchemeTCP, Addr: "127.0.0.1:5432"}, ""},
		{"tcp://db:5432/", Target{Scheme: SchemeTCP, Addr: "db:5432"}, "tcp://db:5432"},
		{"unix:///run/app.sock:/readyz", Target{Scheme: SchemeUnix, Addr: "/run/app.sock", Path: "/readyz"}, ""},
		{"unix:///run/app.sock", Target{Scheme: SchemeUnix, Addr: "/run/app.sock", Path: "/"}, "unix:///run/app.sock:/"},
		{"unix:///run/app.sock:", Target{Scheme: SchemeUnix, Addr: "/run/app.sock", Path: "/"}, "unix:///run/app.sock:/"},
		{"unix:///run/a:b.sock:/x?y=http://z", Target{Scheme: SchemeUnix, Addr: "/run/a:b.sock", Path: "/x?y=http://z"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			want := tt.str
			if want == "" {
				want = tt.in
			}
			if got.String() != want {
				t.Errorf("String() = %q, want %q", got.String(), want)
			}
			again, err := ParseTarget(got.String())
			if err != nil || again != got {
				t.Errorf("ParseTarget(String()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func TestParseTargetErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `bad target: empty`},
		{"127.0.0.1:8080", `bad target "127.0.0.1:8080": missing scheme (want http, https, grpc, grpcs, tcp or unix)`},
		{"localhost/healthz", `bad target "localhost/healthz": missing scheme (want http, https, grpc, grpcs, tcp or unix)`},
		{"://x", `bad target "://x": missing scheme (want http, https, grpc, grpcs, tcp or unix)`},
		{"ftp://host/", `bad target "ftp://host/": unknown scheme "ftp" (want http, https, grpc, grpcs, tcp or unix)`},
		{"http:///healthz", `bad target "http:///healthz": missing host`},
		{"http://:8080/healthz", `bad target "http://:8080/healthz": missing host`},
		{"http://host:99999/", `bad target "http://host:99999/": bad port "99999" (want 1-65535)`},
		{"http://host:0/", `bad target "http://host:0/": bad port "0" (want 1-65535)`},
		{"http://host:/", `bad target "http://host:/": empty port`},
		{"http://host:x/", `bad target "http://host:x/": invalid port ":x" after host`},
		// Credentials never reach the error: the userinfo and query values
		// are redacted.
		{"http://user:pw@host/", `bad target "http://xxxxx@host/": credentials in the URL are not supported (send an Authorization header instead)`},
		{"https://produser:PRODPASS@db.example:8443/x?token=T0K3N&v#f", `bad target "https://xxxxx@db.example:8443/x?token=xxxxx&v#f": credentials in the URL are not supported (send an Authorization header instead)`},
		{"http://produser:PRODPASS@/", `bad target "http://xxxxx@/": credentials in the URL are not supported (send an Authorization header instead)`},
		{"http://host/#frag", `bad target "http://host/#frag": fragment (#...) not allowed`},
		{"http://host/a b", `bad target "http://host/a b": space in target`},
		{"http://host/\n", `bad target "http://host/\n": control character in target`},
		{"http://[::1/", `bad target "http://[::1/": missing ']' in host`},
		{"http://host/%zz", `bad target "http://host/%zz": invalid URL escape "%zz"`},
		{"http://[fe80::3%25%20]:1000]:100", `bad target "http://[fe80::3%25%20]:1000]:100": bad IPv6 zone " ]:1000"`},
		{"http://[fe80::1%25a!b]/", `bad target "http://[fe80::1%25a!b]/": bad IPv6 zone "a!b"`},
		{"http://[127.0.0.1]/", `bad target "http://[127.0.0.1]/": invalid IP-literal`},
		{"http://[::1]x/", `bad target "http://[::1]x/": invalid port "x" after host`},
		{"http://a$b/", `bad target "http://a$b/": bad host "a$b"`},
		{"grpc://a;b:1", `bad target "grpc://a;b:1": bad host "a;b"`},
		{"grpc://127.0.0.1", `bad target "grpc://127.0.0.1": missing port (want grpc://host:port)`},
		{"grpcs://host", `bad target "grpcs://host": missing port (want grpcs://host:port)`},
		{"grpc://host:9090/a/b", `bad target "grpc://host:9090/a/b": service name "a/b" contains '/'`},
		{"grpc://host:9090/svc?x=1", `bad target "grpc://host:9090/svc?x=xxxxx": query not allowed in a gRPC target`},
		{"tcp://host", `bad target "tcp://host": missing port (want tcp://host:port)`},
		{"tcp://host:5432/db", `bad target "tcp://host:5432/db": path or query not allowed in a tcp target`},
		{"tcp://host:5432?x", `bad target "tcp://host:5432?x": path or query not allowed in a tcp target`},
		{"unix://run/app.sock:/readyz", `bad target "unix://run/app.sock:/readyz": socket path must be absolute (want unix:///path/to.sock:/http/path)`},
		{"unix://", `bad target "unix://": socket path must be absolute (want unix:///path/to.sock:/http/path)`},
		{"unix:///", `bad target "unix:///": socket path "/" names a directory`},
		{"unix:///run/:/readyz", `bad target "unix:///run/:/readyz": socket path "/run/" names a directory`},
		{"unix:///run/app.sock?x", `bad target "unix:///run/app.sock?x": socket path contains '?' or '#' (separate the HTTP path with ':/')`},
		{"unix:///run/app.sock://x/y", `bad target "unix:///run/app.sock://x/y": HTTP path must not start with //`},
		{"unix:///run/app.sock:/a%zz", `bad target "unix:///run/app.sock:/a%zz": HTTP path: invalid URL escape "%zz"`},
		{"unix:///run/app.sock:/a#b", `bad target "unix:///run/app.sock:/a#b": fragment (#...) not allowed`},
		{"unix:///" + strings.Repeat("a", 110) + ":/", `bad target "unix:///` + strings.Repeat("a", 72) + `...": socket path longer than 107 bytes`},
		{"http://h/" + strings.Repeat("a", 5000), `bad target "http://h/` + strings.Repeat("a", 71) + `...": longer than 4096 bytes`},
		{"http://h/" + strings.Repeat("\xcb", 1400), fmt.Sprintf("bad target %q: longer than 4096 bytes once escaped", "http://h/"+strings.Repeat("\xcb", 71)+"...")},
	}
	for _, tt := range tests {
		t.Run(clip.Bytes(tt.in, 100), func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if err == nil {
				t.Fatalf("got %+v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrBadTarget) {
				t.Errorf("error %v does not wrap ErrBadTarget", err)
			}
		})
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:8080/readyz", "https://h/x?y", "grpc://h:1/svc", "grpcs://[::1]:9/",
		"tcp://h:5432", "unix:///run/app.sock:/readyz", "unix:///a:b:/c", "http://u@h/", "x", "",
		"http://[fe80::1%25eth0]:80/", "grpc://h:1/%2F",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseTarget(in)
		if err != nil {
			if !errors.Is(err, ErrBadTarget) {
				t.Fatalf("error %v does not wrap ErrBadTarget", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") && !strings.Contains(err.Error(), `\n`) && !strings.Contains(err.Error(), `\r`) {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		// A parsed target prints as a target that parses to the same.
		again, err := ParseTarget(got.String())
		if err != nil {
			t.Fatalf("%.200q parsed to %.200q which does not parse: %v", in, got.String(), err)
		}
		if again != got {
			t.Fatalf("%q: round trip %+v != %+v", in, again, got)
		}
		switch got.Scheme {
		case SchemeHTTP, SchemeHTTPS, SchemeUnix:
			if !strings.HasPrefix(got.Path, "/") {
				t.Fatalf("%q: path %q does not start with /", in, got.Path)
			}
		case SchemeGRPC, SchemeGRPCS, SchemeTCP:
			if got.Path != "" {
				t.Fatalf("%q: path %q on a %s target", in, got.Path, got.Scheme)
			}
		default:
			t.Fatalf("%q: scheme %q", in, got.Scheme)
		}
	})
}
