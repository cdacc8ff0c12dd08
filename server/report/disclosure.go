package report

import (
	"math"

	"github.com/patientportal/portal/graph/model"
)

// Disclosure control after NHS Digital's practice for figures below
// national level: a count of 1 to 7 is never shown, every other count is
// rounded to the nearest 5, a total is hidden with any of its parts, and a
// median or percentile needs at least 8 patients behind it.
const (
	// threshold is the smallest count shown.
	threshold = 8
	// roundTo is the multiple shown counts are rounded to.
	roundTo = 5
)

// count applies disclosure control to a count: 0 stays 0, 1 to 7 are
// suppressed, the rest are rounded to the nearest multiple of 5 (halves
// up, though a whole number never falls halfway).
func count(n int) *model.Figure {
	switch {
	case n <= 0:
		zero := 0
		return &model.Figure{Value: &zero}
	case n < threshold:
		return suppressed()
	}
	v := (n + roundTo/2) / roundTo * roundTo
	return &model.Figure{Value: &v}
}

// suppressed is a hidden figure: no value, ever.
func suppressed() *model.Figure {
	return &model.Figure{Suppressed: true}
}

// part is one raw count of a breakdown, before control.
type part struct {
	key string
	n   int
}

// breakdown controls a total and its parts together, so that no hidden
// part can be worked out by subtraction: each is controlled on its own;
// when exactly one part is hidden, the smallest other part with a count
// is hidden as well (a single hidden part would be the total less the
// others); and when any part is hidden, so is the total.
func breakdown(total int, parts []part) *model.Breakdown {
	out := &model.Breakdown{Total: count(total), Parts: make([]*model.FigurePart, len(parts))}
	hidden := 0
	for i, p := range parts {
		f := count(p.n)
		if f.Suppressed {
			hidden++
		}
		out.Parts[i] = &model.FigurePart{Key: p.key, Figure: f}
	}
	if hidden == 1 {
		// A zero beside it would not hide it: zero plus the hidden
		// part is still the hidden part.
		next := -1
		for i, p := range parts {
			if out.Parts[i].Figure.Suppressed || p.n <= 0 {
				continue
			}
			if next < 0 || p.n < parts[next].n {
				next = i
			}
		}
		if next >= 0 {
			out.Parts[next].Figure = suppressed()
		}
	}
	if hidden > 0 {
		out.Total = suppressed()
	}
	return out
}

// sameTotal hides the totals of breakdowns of one population (the same
// shares by relationship and by label) together, so that a total hidden in
// one cannot be read from another.
func sameTotal(bs ...*model.Breakdown) {
	for _, b := range bs {
		if b.Total.Suppressed {
			for _, c := range bs {
				c.Total = suppressed()
			}
			return
		}
	}
}

// measure controls a median or percentile in hours over the results of
// patients distinct patients: hidden below the threshold, else shown to a
// tenth of an hour.
func measure(hours float64, patients int) *model.Measure {
	if patients < threshold {
		return &model.Measure{Suppressed: true}
	}
	v := math.Round(hours*10) / 10
	return &model.Measure{Value: &v}
}

// times is a figure derived from a controlled count, such as postage saved
// by the letters read: hidden when the count is, else the shown count
// times each. It is never worked out from the raw count, which it would
// give away.
func times(f *model.Figure, each int) *model.Figure {
	if f.Suppressed || f.Value == nil {
		return suppressed()
	}
	v := *f.Value * each
	return &model.Figure{Value: &v}
}
