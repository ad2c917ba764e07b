package coordinator

import (
	"net"
	"os"
	"strconv"
)

// AdvertiseURL names the API's bound address as other replicas and clients
// reach it: an unspecified host (":8700", "0.0.0.0") becomes the host
// name. Use it for Config.Advertise when listening on port 0.
func AdvertiseURL(addr net.Addr) string {
	a, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}
