// Package fetch downloads knowledge documents from URLs that users give the
// platform, without letting those URLs reach the platform's own network.
//
// A Fetcher refuses loopback, private, link-local, carrier-grade NAT,
// multicast, reserved and similar addresses (however the URL writes them:
// IPv4-mapped IPv6, NAT64, "http://2130706433/", "http://0x7f.1/"), unless an
// operator lists them in Config.Allow (TIMBRE_FETCH_ALLOW). The policy is
// checked on the URL before any request, on every redirect target, and, where
// it cannot be bypassed, on the actual IP address of every socket at dial time,
// so DNS rebinding and redirects through a hostname cannot slip past it.
//
// The package owns only fetching; turning bodies into text belongs to
// knowledge/extract. It imports the standard library and golang.org/x/net/idna
// and nothing else from Timbre.
package fetch
