package api

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// recoverer turns a handler panic into a 500 and logs its stack.
func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					logger.Error("handler panicked", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
						"route", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("api: panic in %s: %v", c.Path(), r)
				}
			}()
			return next(c)
		}
	}
}

// requestLogger writes one line per request.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the response now so the status below is right
			}
			req := c.Request()
			logger.Info("request",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", req.Method, "path", req.URL.Path, "route", c.Path(),
				"status", c.Response().Status, "bytes", c.Response().Size,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", c.RealIP())
			return nil
		}
	}
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timbre_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "timbre_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		m.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		return nil
	}
}

// ipLimiter is a token bucket per client IP, for the endpoints that guess
// passwords could abuse.
type ipLimiter struct {
	mu      sync.Mutex
	perMin  int
	buckets map[string]*bucket
	window  time.Duration
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perMinute int, window time.Duration) *ipLimiter {
	return &ipLimiter{perMin: perMinute, buckets: map[string]*bucket{}, window: window}
}

// allow takes a token for ip; when none is left it says how many seconds to wait.
func (l *ipLimiter) allow(ip string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 10_000 {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.window {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[ip]
	if b == nil {
		every := l.window / time.Duration(l.perMin)
		b = &bucket{lim: rate.NewLimiter(rate.Every(every), max(1, l.perMin/2))}
		l.buckets[ip] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, int(d/time.Second) + 1
	}
	return true, 0
}
