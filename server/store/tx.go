package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/patientportal/portal/ent"
)

// InTx runs fn in a transaction on client, committing only if fn succeeds.
// fn must read and write through the client it is given: SQLite holds the
// write lock for the whole transaction, so another connection would wait.
func InTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Client) error) error {
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx.Client()); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
