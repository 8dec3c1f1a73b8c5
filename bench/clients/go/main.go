// go-client: Go's net/http client as its users write a load loop, standard library only: one
// http.Client over one Transport shared by C goroutines, each sending its next request when the
// previous response body has been read and closed. It prints the same JSON line as the C++ clients.
//
//	go-client --url URL --concurrency C --requests N [--new-conn] [--insecure]
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type phase struct {
	count     int64
	next      atomic.Int64
	errors    atomic.Int64
	latencies []time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runPhase(client *http.Client, url string, concurrency int64, p *phase) {
	var wg sync.WaitGroup
	workers := concurrency
	if p.count < workers {
		workers = p.count
	}
	for w := int64(0); w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := p.next.Add(1) - 1
				if i >= p.count {
					return
				}
				sent := time.Now()
				resp, err := client.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						p.errors.Add(1)
					}
				}
				if err != nil {
					p.errors.Add(1)
				}
				p.latencies[i] = time.Since(sent)
			}
		}()
	}
	wg.Wait()
}

// The nearest-rank percentile, as the C++ clients compute it.
func percentileUs(sorted []time.Duration, percent int64) float64 {
	rank := (percent*int64(len(sorted)) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return float64(sorted[rank-1].Nanoseconds()) / 1000
}

// The peak resident memory in KiB (VmHWM), as the C++ clients report it; 0 when /proc does not say.
func peakRssKib() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		var kib int64
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kib); n == 1 {
			return kib
		}
	}
	return 0
}

func fail(status int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-client: "+format+"\n", args...)
	os.Exit(status)
}

func main() {
	fs := flag.NewFlagSet("go-client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("url", "", "")
	concurrency := fs.Int64("concurrency", 0, "")
	requests := fs.Int64("requests", 0, "")
	newConn := fs.Bool("new-conn", false, "")
	insecure := fs.Bool("insecure", false, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			fmt.Println("usage: go-client --url URL --concurrency C --requests N [--new-conn] [--insecure]")
			return
		}
		fail(2, "%v", err)
	}
	if *url == "" || *concurrency < 1 || *concurrency > 10000 || *requests < 1 || *requests > 100000000 {
		fail(2, "--url, --concurrency (1 to 10000) and --requests (1 to 100000000) are required")
	}

	var opened atomic.Int64
	dialer := &net.Dialer{}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				opened.Add(1)
			}
			return c, err
		},
		MaxIdleConns:        int(*concurrency),
		MaxIdleConnsPerHost: int(*concurrency),
		DisableKeepAlives:   *newConn,
		DisableCompression:  true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: *insecure},
	}
	client := &http.Client{Transport: transport}

	warmupCount := *requests / 10
	if warmupCount > 1000 {
		warmupCount = 1000
	}
	warmup := &phase{count: warmupCount, latencies: make([]time.Duration, warmupCount)}
	runPhase(client, *url, *concurrency, warmup)
	openedInWarmup := opened.Load()

	measured := &phase{count: *requests, latencies: make([]time.Duration, *requests)}
	cpuStart := cpuTime()
	start := time.Now()
	runPhase(client, *url, *concurrency, measured)
	wall := time.Since(start)
	cpu := cpuTime() - cpuStart

	sort.Slice(measured.latencies, func(a, b int) bool { return measured.latencies[a] < measured.latencies[b] })
	n := float64(*requests)
	out, _ := json.Marshal(map[string]any{
		"client": "go", "requests": *requests, "errors": measured.errors.Load(),
		"wall_s": wall.Seconds(), "rps": n / wall.Seconds(),
		"p50_us": percentileUs(measured.latencies, 50), "p99_us": percentileUs(measured.latencies, 99),
		"cpu_us_per_req": float64(cpu.Nanoseconds()) / 1000 / n,
		"conns_opened":   opened.Load() - openedInWarmup, "conns_opened_warmup": openedInWarmup,
		"allocs_per_req": nil, "max_rss_kb": peakRssKib(),
	})
	fmt.Println(string(out))
}
