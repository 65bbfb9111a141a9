package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"
)

// scenario is one load test: concurrent workers requesting targets in turn.
type scenario struct {
	name string
	// targets are the URLs requested, each worker cycling over its share.
	targets []string
	// header is set on every request (authentication).
	header http.Header
}

// workerResult is what one worker recorded.
type workerResult struct {
	latencies []time.Duration
	bytes     int64
	errors    int
	firstErr  string
}

// loadResult is one measured run of a scenario.
type loadResult struct {
	latencies []time.Duration // sorted
	elapsed   time.Duration
	cpu       cpuSample
	bytes     int64
	errors    int
	firstErr  string
}

// newClient returns an HTTP/1.1 client that keeps one connection per worker
// alive, so the measurement does not include connection setup.
func newClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		MaxConnsPerHost:       concurrency,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: 30 * time.Second,
		// No Accept-Encoding: neither server compresses, and the header would
		// only cost bytes.
		DisableCompression: true,
	}}
}

// shares splits targets among workers: worker w gets targets w, w+n, w+2n…
// (wrapping around when there are fewer targets than workers), so together
// they cover every target and each worker has at least one.
func shares(targets []string, workers int) [][]string {
	out := make([][]string, workers)
	per := max(1, (len(targets)+workers-1)/workers)
	for w := range workers {
		for k := range per {
			out[w] = append(out[w], targets[(w+k*workers)%len(targets)])
		}
	}
	return out
}

// buildRequests prepares each worker's requests once; a worker reuses them
// one at a time, which net/http allows once the previous body is closed.
func buildRequests(ctx context.Context, s scenario, workers int) ([][]*http.Request, error) {
	out := make([][]*http.Request, workers)
	for w, urls := range shares(s.targets, workers) {
		for _, u := range urls {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, fmt.Errorf("bench: request %s: %w", u, err)
			}
			for k, v := range s.header {
				req.Header[k] = v
			}
			out[w] = append(out[w], req)
		}
	}
	return out, nil
}

// run drives the scenario with one goroutine per request slot: first for
// warmup (not recorded), then for d. Each request's latency runs from just
// before Do to the end of reading the body.
func (s scenario) run(ctx context.Context, client *http.Client, concurrency int, warmup, d time.Duration) (loadResult, error) {
	reqs, err := buildRequests(ctx, s, concurrency)
	if err != nil {
		return loadResult{}, err
	}
	if warmup > 0 {
		drive(ctx, client, reqs, warmup, 0)
		if err := ctx.Err(); err != nil {
			return loadResult{}, fmt.Errorf("bench: %s: %w", s.name, err)
		}
	}
	// A generous first guess at the request rate keeps appends from
	// reallocating (and disturbing the measurement) in the common case.
	capacity := int(d.Seconds()*50_000)/concurrency + 1024
	meter := startCPU()
	start := time.Now()
	results := drive(ctx, client, reqs, d, capacity)
	elapsed := time.Since(start)
	cpu := meter.stop(runtime.NumCPU())
	if err := ctx.Err(); err != nil {
		return loadResult{}, fmt.Errorf("bench: %s: %w", s.name, err)
	}
	res := loadResult{elapsed: elapsed, cpu: cpu}
	total := 0
	for _, r := range results {
		total += len(r.latencies)
	}
	res.latencies = make([]time.Duration, 0, total)
	for _, r := range results {
		res.latencies = append(res.latencies, r.latencies...)
		res.bytes += r.bytes
		res.errors += r.errors
		if res.firstErr == "" {
			res.firstErr = r.firstErr
		}
	}
	slices.Sort(res.latencies)
	return res, nil
}

// drive runs one worker per request list until d has passed and returns
// what each recorded. capacity 0 records nothing (warm-up).
func drive(ctx context.Context, client *http.Client, reqs [][]*http.Request, d time.Duration, capacity int) []workerResult {
	deadline := time.Now().Add(d)
	results := make([]workerResult, len(reqs))
	var wg sync.WaitGroup
	for w := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = work(ctx, client, reqs[w], deadline, capacity)
		}()
	}
	wg.Wait()
	return results
}

func work(ctx context.Context, client *http.Client, reqs []*http.Request, deadline time.Time, capacity int) workerResult {
	r := workerResult{}
	record := capacity > 0
	if record {
		r.latencies = make([]time.Duration, 0, capacity)
	}
	for i := 0; ctx.Err() == nil; i++ {
		start := time.Now()
		if !start.Before(deadline) {
			break
		}
		n, err := fetch(client, reqs[i%len(reqs)])
		lat := time.Since(start)
		if !record {
			continue
		}
		r.latencies = append(r.latencies, lat)
		r.bytes += n
		if err != nil {
			r.errors++
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
		}
	}
	return r
}

// errStatus marks a response that was not 2xx.
var errStatus = errors.New("bench: non-2xx response")

// fetch performs one request and reads the whole body, returning its size.
func fetch(client *http.Client, req *http.Request) (int64, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("%w: %s %s: %s", errStatus, req.URL.Path, resp.Status, body)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("bench: read body of %s: %w", req.URL.Path, err)
	}
	return n, nil
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted latencies; zero when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p / 100 * float64(len(sorted)))
	if float64(rank) < p/100*float64(len(sorted)) {
		rank++ // ceil
	}
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
