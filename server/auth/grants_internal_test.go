package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/store/storetest"
)

// Every request reads its viewer's grants with grantsQuery, so no arm of
// it may scan a table: on SQLite each must search an index, whatever the
// statistics (here as ANALYZE leaves them when no share is made to an
// organisation, which made SQLite scan every share until the
// organisation's arm was a CROSS JOIN from the viewer's memberships).
func TestGrantsQuerySearchesIndexesOnly(t *testing.T) {
	st := storetest.OpenEmpty(t, storetest.SQLiteURL(t))
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// The statistics ANALYZE wrote for the benchmark's dataset: 1,000
	// shares, all made to accounts, so the organisation index looks
	// useless, and no memberships.
	for _, q := range []string{
		"ANALYZE",
		"DELETE FROM sqlite_stat1",
		"INSERT INTO sqlite_stat1 VALUES ('shares', NULL, '1000'), " +
			"('shares', 'share_grantee_organisation_id_revoked_at', '1000 1000 1000'), " +
			"('shares', 'share_grantee_account_id_revoked_at', '1000 1 1'), " +
			"('shares', 'sqlite_autoindex_shares_1', '1000 1'), " +
			"('patients', 'sqlite_autoindex_patients_1', '10000 1')",
		"ANALYZE sqlite_schema",
	} {
		if _, err := st.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	rows, err := st.DB.QueryContext(ctx, "EXPLAIN QUERY PLAN "+grantsQuery,
		"ac1", "ac1", "ac1", now, "ac1", access.RoleClinician, now, "ac1", now, now)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) == 0 {
		t.Fatal("no plan")
	}
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN") {
			t.Errorf("the grants statement scans a table: %q in\n%s", step, strings.Join(plan, "\n"))
		}
	}
}
