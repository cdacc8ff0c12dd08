package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
)

// Ensure is what the server calls at start. With load set it fills an empty
// store; in any case it returns the demo sign-ins when the demo data is
// there (so a restart prints them again), and nil on a store of real data.
func Ensure(ctx context.Context, client *ent.Client, load bool, now time.Time) (*Credentials, error) {
	if load {
		creds, err := Load(ctx, client, now)
		if err == nil {
			return creds, nil
		}
		if !errors.Is(err, ErrNotEmpty) {
			return nil, err
		}
	}
	present, err := client.Account.Query().
		Where(account.Email(patientPerson.Login.Email)).
		Exist(access.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("demo: look for demo data: %w", err)
	}
	if !present {
		return nil, nil
	}
	return credentials(), nil
}
