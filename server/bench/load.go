package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Step is what one fixed arrival rate gave.
type Step struct {
	// Rate is the arrival rate asked for, requests/s.
	Rate int
	// Sent and Errors count requests; an error is a transport failure,
	// a timeout, a status other than 200 or a GraphQL error.
	Sent, Errors int
	// FirstError is the first error's text, for the report.
	FirstError string
	// P50, P99 and Max are latencies from each request's scheduled send
	// time to the end of its answer, so a server that falls behind pays
	// for the queue it builds (no coordinated omission).
	P50, P99, Max time.Duration
	// Mallocs and Bytes are heap allocations per request over the step,
	// in the whole process (load generator included).
	Mallocs, Bytes float64
	// GCs is garbage collections per 1,000 requests over the step, and
	// HeapGoal the collector's heap goal at its end.
	GCs      float64
	HeapGoal int64
	// Statements is SQL statements per request over the step.
	Statements float64
	// CPU is the process's CPU time (user and system) per request over
	// the step, load generator included: unlike latency it hardly
	// depends on what else the machine runs.
	CPU time.Duration
}

// Sustained reports whether the step held: no errors and p99 under limit.
func (s Step) Sustained(limit time.Duration) bool {
	return s.Errors == 0 && s.Sent > 0 && s.P99 < limit
}

// String is one line of the report.
func (s Step) String() string {
	line := fmt.Sprintf("%5d req/s: %6d sent, %d errors, p50 %6.2f ms, p99 %6.2f ms, max %7.2f ms, %.2f ms CPU/req, %6.0f allocs/req, %5.1f KB/req, %.0f GCs/1000 req",
		s.Rate, s.Sent, s.Errors, ms(s.P50), ms(s.P99), ms(s.Max), ms(s.CPU), s.Mallocs, s.Bytes/1024, s.GCs)
	if s.Statements > 0 {
		line += fmt.Sprintf(", %.1f stmts/req", s.Statements)
	}
	if s.FirstError != "" {
		line += " (first error: " + s.FirstError + ")"
	}
	return line
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Send is one request of a load: the i-th since the start.
type Send func(ctx context.Context, i int) error

// Open sends requests at rate per second for d, open loop: request i is
// due at start + i/rate whether or not earlier ones have answered, each in
// its own goroutine. statements, when set, reads a statement counter.
func Open(ctx context.Context, rate int, d time.Duration, send Send, statements func() int64) Step {
	n := int(float64(rate) * d.Seconds())
	step := Step{Rate: rate, Sent: n}
	if n == 0 {
		return step
	}
	latencies := make([]time.Duration, n)
	var (
		wg       sync.WaitGroup
		errs     atomic.Int64
		firstErr sync.Once
	)
	interval := time.Second / time.Duration(rate)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var stmts int64
	if statements != nil {
		stmts = statements()
	}
	cpu := cpuTime()
	start := time.Now().Add(5 * time.Millisecond)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := send(ctx, i)
			latencies[i] = time.Since(due)
			if err != nil {
				errs.Add(1)
				firstErr.Do(func() { step.FirstError = err.Error() })
			}
		}()
	}
	wg.Wait()
	step.CPU = (cpuTime() - cpu) / time.Duration(n)
	runtime.ReadMemStats(&after)
	if statements != nil {
		step.Statements = float64(statements()-stmts) / float64(n)
	}
	step.Errors = int(errs.Load())
	step.Mallocs = float64(after.Mallocs-before.Mallocs) / float64(n)
	step.Bytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	step.GCs = float64(after.NumGC-before.NumGC) * 1000 / float64(n)
	step.HeapGoal = heapGoal()
	slices.Sort(latencies)
	step.P50 = latencies[n/2]
	step.P99 = latencies[min(n-1, n*99/100)]
	step.Max = latencies[n-1]
	return step
}

// peakRSS is the most resident memory the process has had, in bytes.
func peakRSS() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return u.Maxrss << 10 // Linux counts kilobytes
}

// gcPercent is the GOGC in effect.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// heapGoal is the heap size at which the next collection starts.
func heapGoal() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// Ramp runs Open at each rate in turn and stops after the first rate that
// is not sustained (p99 under limit, no errors), retrying that rate once
// first when retry is set: on a shared machine one noisy step should not
// end the ramp. report gets each step as it finishes. It returns every
// step and the highest sustained rate (0 if none).
func Ramp(ctx context.Context, rates []int, d, limit time.Duration, retry bool, send Send, statements func() int64, report func(Step)) ([]Step, int) {
	var steps []Step
	best := 0
	for _, rate := range rates {
		s := Open(ctx, rate, d, send, statements)
		report(s)
		if !s.Sustained(limit) && retry {
			time.Sleep(time.Second) // let a queue from the failed step drain
			s = Open(ctx, rate, d, send, statements)
			report(s)
		}
		steps = append(steps, s)
		if !s.Sustained(limit) {
			break
		}
		best = rate
		if ctx.Err() != nil {
			break
		}
	}
	return steps, best
}
