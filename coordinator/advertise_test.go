package coordinator_test

import (
	"net"
	"os"
	"testing"

	"github.com/hintfleet/hintfleet/coordinator"
)

func TestAdvertiseURL(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name:", err)
	}
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8700}, "http://127.0.0.1:8700"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8700}, "http://" + net.JoinHostPort(host, "8700")},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 1}, "http://[::1]:1"},
	} {
		if got := coordinator.AdvertiseURL(tc.addr); got != tc.want {
			t.Errorf("AdvertiseURL(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
