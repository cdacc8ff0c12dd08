package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/patientportal/portal/graph/model"
)

// show writes a figure as the tests read it: a number, or "*" when
// suppressed.
func show(f *model.Figure) string {
	switch {
	case f == nil:
		return "nil"
	case f.Suppressed && f.Value == nil:
		return "*"
	case f.Suppressed:
		return fmt.Sprintf("*%d!", *f.Value) // a suppressed figure with a value: a leak
	case f.Value == nil:
		return "null"
	}
	return fmt.Sprint(*f.Value)
}

// showBreakdown writes a breakdown as "total | key=value ...".
func showBreakdown(b *model.Breakdown) string {
	parts := make([]string, len(b.Parts))
	for i, p := range b.Parts {
		parts[i] = p.Key + "=" + show(p.Figure)
	}
	return show(b.Total) + " | " + strings.Join(parts, " ")
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "0"},
		{-3, "0"},
		{1, "*"}, {2, "*"}, {5, "*"}, {7, "*"},
		{8, "10"}, {9, "10"}, {10, "10"}, {11, "10"}, {12, "10"},
		{13, "15"}, {14, "15"}, {15, "15"}, {17, "15"}, {18, "20"},
		{22, "20"}, {23, "25"}, {1002, "1000"}, {1003, "1005"},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			if got := show(count(tc.n)); got != tc.want {
				t.Errorf("count(%d) = %s, want %s", tc.n, got, tc.want)
			}
		})
	}
}

func TestCountNeverShowsOneToSeven(t *testing.T) {
	for n := range 10_000 {
		f := count(n)
		if f.Value != nil && (*f.Value%roundTo != 0 || *f.Value > 0 && *f.Value < threshold) {
			t.Fatalf("count(%d) shows %d", n, *f.Value)
		}
		if f.Suppressed != (n >= 1 && n <= 7) {
			t.Fatalf("count(%d) suppressed = %v", n, f.Suppressed)
		}
		if f.Suppressed && f.Value != nil {
			t.Fatalf("count(%d) is suppressed with a value", n)
		}
	}
}

func TestBreakdown(t *testing.T) {
	type in = []part
	for _, tc := range []struct {
		name  string
		total int
		parts in
		want  string
	}{
		{"nothing hidden: parts and total rounded on their own", 45, in{{"A", 23}, {"B", 12}, {"C", 10}},
			"45 | A=25 B=10 C=10"},
		{"zeros are shown and hide nothing", 20, in{{"A", 20}, {"B", 0}},
			"20 | A=20 B=0"},
		{"one small part hides the next smallest part and the total", 46, in{{"A", 3}, {"B", 30}, {"C", 13}},
			"* | A=* B=30 C=*"},
		{"the partner is the smallest other part, not the first", 60, in{{"A", 20}, {"B", 9}, {"C", 2}, {"D", 29}},
			"* | A=20 B=* C=* D=30"},
		{"a zero is never the partner", 43, in{{"A", 3}, {"B", 0}, {"C", 40}},
			"* | A=* B=0 C=*"},
		{"ties go to the first", 23, in{{"A", 10}, {"B", 3}, {"C", 10}},
			"* | A=* B=* C=10"},
		{"two small parts hide each other; the total goes", 46, in{{"A", 3}, {"B", 5}, {"C", 38}},
			"* | A=* B=* C=40"},
		{"a lone small part with only zeros beside it hides the total", 4, in{{"A", 4}, {"B", 0}},
			"* | A=* B=0"},
		{"a small total with no small part is hidden (parts that overlap)", 5, in{{"A", 0}, {"B", 0}},
			"* | A=0 B=0"},
		{"no parts", 12, nil, "10 | "},
		{"all zero", 0, in{{"A", 0}, {"B", 0}}, "0 | A=0 B=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := breakdown(tc.total, tc.parts)
			if s := showBreakdown(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}

// TestBreakdownHidesEveryPartFromSubtraction checks, for every breakdown of
// a total into three parts up to 30, that a reader who knows the shown
// figures cannot tell a hidden part's value: either no part is hidden, or
// at least two are and the total is hidden too.
func TestBreakdownHidesEveryPartFromSubtraction(t *testing.T) {
	for a := range 31 {
		for b := range 31 {
			for c := range 31 {
				got := breakdown(a+b+c, []part{{"A", a}, {"B", b}, {"C", c}})
				hidden := 0
				for _, p := range got.Parts {
					if p.Figure.Suppressed {
						hidden++
					}
				}
				switch {
				case hidden == 0 && got.Total.Suppressed && a+b+c >= threshold:
					t.Fatalf("%d,%d,%d: total hidden for nothing: %s", a, b, c, showBreakdown(got))
				case hidden > 0 && !got.Total.Suppressed:
					t.Fatalf("%d,%d,%d: total shown beside a hidden part: %s", a, b, c, showBreakdown(got))
				case hidden == 1:
					// Allowed only when every other part is zero, and
					// then the total is the hidden part and hidden.
					for i, p := range got.Parts {
						if !p.Figure.Suppressed && []int{a, b, c}[i] != 0 {
							t.Fatalf("%d,%d,%d: one part hidden beside a non-zero part: %s", a, b, c, showBreakdown(got))
						}
					}
				}
			}
		}
	}
}

func TestSameTotal(t *testing.T) {
	shown := breakdown(40, []part{{"A", 20}, {"B", 20}})
	hidden := breakdown(40, []part{{"X", 3}, {"Y", 37}})
	sameTotal(shown, hidden)
	if !shown.Total.Suppressed || shown.Total.Value != nil {
		t.Errorf("the other breakdown's total is still shown: %s", showBreakdown(shown))
	}
	if s := showBreakdown(shown); s != "* | A=20 B=20" {
		t.Errorf("got %s", s)
	}

	a := breakdown(40, []part{{"A", 20}, {"B", 20}})
	b := breakdown(40, []part{{"X", 10}, {"Y", 30}})
	sameTotal(a, b)
	if show(a.Total) != "40" || show(b.Total) != "40" {
		t.Errorf("totals hidden for nothing: %s, %s", showBreakdown(a), showBreakdown(b))
	}
}

func TestMeasure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hours    float64
		patients int
		want     string
	}{
		{"no patients", 0, 0, "*"},
		{"seven patients", 12.3, 7, "*"},
		{"eight patients", 12.34, 8, "12.3"},
		{"rounded to a tenth", 47.96, 100, "48.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := measure(tc.hours, tc.patients)
			got := "*"
			if m.Value != nil {
				got = fmt.Sprintf("%.1f", *m.Value)
			}
			if got != tc.want || m.Suppressed != (tc.want == "*") {
				t.Errorf("got %s (suppressed %v), want %s", got, m.Suppressed, tc.want)
			}
		})
	}
}

func TestTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"none read saves nothing", 0, "0"},
		{"a hidden count hides what it saved", 6, "*"},
		{"the shown, rounded count is multiplied, never the raw one", 23, "2125"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := show(times(count(tc.n), 85)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
