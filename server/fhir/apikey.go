package fhir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/apikey"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// keyPrefix starts every integration key, so that one pasted somewhere
// it should not be is easy to recognise (and to scan for).
const keyPrefix = "ppk_"

// ErrUnknownOrganisation is returned for an ODS code no organisation has.
var ErrUnknownOrganisation = errors.New("no organisation has this ODS code")

// ErrBadKey is returned for a missing, unknown or revoked key.
var ErrBadKey = errors.New("the integration key is missing, unknown or revoked")

// NewKey makes an integration key for the organisation with the ODS code
// and returns it: the key is shown this once, only its hash is kept.
func NewKey(ctx context.Context, client *ent.Client, ods string) (string, *ent.APIKey, error) {
	sys := access.SystemContext(ctx)
	org, err := client.Organisation.Query().Where(organisation.OdsCode(strings.ToUpper(strings.TrimSpace(ods)))).Only(sys)
	if ent.IsNotFound(err) {
		return "", nil, ErrUnknownOrganisation
	}
	if err != nil {
		return "", nil, err
	}
	key := keyPrefix + strings.ToLower(rand.Text())
	k, err := client.APIKey.Create().
		SetOrganisationID(org.ID).
		SetKeyHash(hashKey(key)).
		SetHint(key[:len(keyPrefix)+6]).
		Save(sys)
	if err != nil {
		return "", nil, err
	}
	return key, k, nil
}

// Keys lists the organisation's keys, newest first.
func Keys(ctx context.Context, client *ent.Client, ods string) ([]*ent.APIKey, error) {
	sys := access.SystemContext(ctx)
	org, err := client.Organisation.Query().Where(organisation.OdsCode(strings.ToUpper(strings.TrimSpace(ods)))).Only(sys)
	if ent.IsNotFound(err) {
		return nil, ErrUnknownOrganisation
	}
	if err != nil {
		return nil, err
	}
	return client.APIKey.Query().Where(apikey.OrganisationID(org.ID)).Order(ent.Desc(apikey.FieldCreatedAt)).All(sys)
}

// RevokeKey ends one of the organisation's keys at once.
func RevokeKey(ctx context.Context, client *ent.Client, ods string, id pulid.ID, now time.Time) error {
	keys, err := Keys(ctx, client, ods)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == id {
			if k.RevokedAt != nil {
				return nil
			}
			return client.APIKey.UpdateOne(k).SetRevokedAt(now).Exec(access.SystemContext(ctx))
		}
	}
	return fmt.Errorf("%w: %s has no key %s", ErrBadKey, ods, id)
}

// authenticate returns the live key and its organisation for a presented
// key.
func authenticate(ctx context.Context, client *ent.Client, presented string, now time.Time) (*ent.APIKey, *ent.Organisation, error) {
	if !strings.HasPrefix(presented, keyPrefix) {
		return nil, nil, ErrBadKey
	}
	sys := access.SystemContext(ctx)
	k, err := client.APIKey.Query().Where(apikey.KeyHash(hashKey(presented)), apikey.RevokedAtIsNil()).Only(sys)
	if ent.IsNotFound(err) {
		return nil, nil, ErrBadKey
	}
	if err != nil {
		return nil, nil, err
	}
	org, err := client.Organisation.Get(sys, k.OrganisationID)
	if err != nil {
		return nil, nil, err
	}
	// Written at most once a minute, so a busy feed does not rewrite it.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		_ = client.APIKey.UpdateOne(k).SetLastUsedAt(now).Exec(sys)
	}
	return k, org, nil
}

// hashKey is the stored form of a key: keys are random and long, so a
// plain SHA-256 is as good as a slow hash and keeps each request cheap.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
