package api

import (
	"strconv"
	"testing"
	"time"
)

func TestBucketTablesStayBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBuckets(Rate{Limit: 1, Burst: 2}, 100)
	for i := range 1000 {
		if _, ok := b.take("client"+strconv.Itoa(i), now); !ok {
			t.Fatalf("client %d refused its first request", i)
		}
		if len(b.entries) > 100 {
			t.Fatalf("%d buckets held, bound 100", len(b.entries))
		}
	}
	// Two seconds refill a bucket of two at one a second: after that,
	// every idle bucket goes at the next sweep.
	b.take("late", now.Add(2*time.Minute))
	if len(b.entries) != 1 {
		t.Errorf("%d buckets after every other client went idle, want 1", len(b.entries))
	}
}

func TestABucketRefusesPastItsBurstAndSaysHowLongToWait(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBuckets(Rate{Limit: 0.5, Burst: 1}, 10)
	if _, ok := b.take("c", now); !ok {
		t.Fatal("first request refused")
	}
	wait, ok := b.take("c", now)
	if ok || wait != 2*time.Second {
		t.Errorf("second request: ok %v, wait %v; want refused for 2s", ok, wait)
	}
	// A refused request spends nothing: the bucket is due at 2 s all the same.
	if _, ok := b.take("c", now.Add(2*time.Second)); !ok {
		t.Error("refused after its wait")
	}
}
