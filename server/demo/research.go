package demo

import (
	"context"
	"crypto/rand"
)

// researchStudy writes an open study of the research unit, which the demo
// patient may join. Its pseudonym key is random, as every study's is.
func (l *loader) researchStudy(ctx context.Context) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return l.tx.ResearchStudy.Create().
		SetOrganisationID(l.trusts[researchUnit]).
		SetTitle("Northbridge Diabetes Outcomes Study").
		SetDescription("How glucose control and clinic attendance change over two years. " +
			"The study sees your results and readings under a code, never your name or NHS number.").
		SetPseudonymKey(key).
		SetCreatedAt(l.now).SetUpdatedAt(l.now).
		Exec(ctx)
}
