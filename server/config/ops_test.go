package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/server/config"
)

func TestOperationsSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := config.Load("serve", nil, env(nil), io.Discard)
	if err != nil || c.AdminAddr != "" || c.PProf || c.ShutdownTimeout != 20*time.Second {
		t.Errorf("defaults: admin %q pprof %v shutdown %v, %v", c.AdminAddr, c.PProf, c.ShutdownTimeout, err)
	}
	vars := env(map[string]string{"PORTAL_ADMIN_ADDR": "127.0.0.1:9090", "PORTAL_PPROF": "true", "PORTAL_SHUTDOWN_TIMEOUT": "45s"})
	c, err = config.Load("serve", []string{"--shutdown-timeout", "5s"}, vars, io.Discard)
	if err != nil || c.AdminAddr != "127.0.0.1:9090" || !c.PProf || c.ShutdownTimeout != 5*time.Second {
		t.Errorf("from the environment, the flag winning: admin %q pprof %v shutdown %v, %v", c.AdminAddr, c.PProf, c.ShutdownTimeout, err)
	}
	if _, err := config.Load("serve", []string{"--pprof"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--admin-addr") {
		t.Errorf("pprof without an admin listener: %v", err)
	}
	if _, err := config.Load("serve", []string{"--shutdown-timeout", "0s"}, env(nil), io.Discard); err == nil {
		t.Error("a zero shutdown timeout was accepted")
	}
}
