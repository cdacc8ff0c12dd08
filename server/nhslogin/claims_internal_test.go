package nhslogin

import (
	"slices"
	"testing"
)

func TestLevelOf(t *testing.T) {
	tests := []struct {
		name     string
		proofing string
		vot      string
		want     string
	}{
		{"identity_proofing_level P9 gives P9", "P9", "", LevelP9},
		{"identity_proofing_level wins over vot", "P5", "P9.Cp.Cd", LevelP5},
		{"vot P9.Cp.Cd gives P9", "", "P9.Cp.Cd", LevelP9},
		{"vot P5.Cm gives P5", "", "P5.Cm", LevelP5},
		{"vot P0.Cp gives P0", "", "P0.Cp", LevelP0},
		{"unknown proofing level falls back to vot", "P7", "P5.Cp.Ck", LevelP5},
		{"lower-case level is unknown", "p9", "", LevelP0},
		{"nothing gives P0", "", "", LevelP0},
		{"unknown vot gives P0", "", "X9.Cp", LevelP0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := levelOf(tt.proofing, tt.vot); got != tt.want {
				t.Errorf("levelOf(%q, %q) = %q, want %q", tt.proofing, tt.vot, got, tt.want)
			}
		})
	}
}

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"valid number passes", "9434765919", true},
		{"check digit 0 from remainder 0 passes", "9434765080", true},
		{"wrong check digit fails", "9434765918", false},
		{"nine digits fail", "943476591", false},
		{"spaces fail", "943 476 5919", false},
		{"letters fail", "94347659a9", false},
		{"remainder giving check digit 10 fails", "0000000060", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validNHSNumber(tt.in); got != tt.want {
				t.Errorf("validNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"root is kept", "/", "/"},
		{"path with query and fragment is kept", "/records?tab=1#top", "/records?tab=1#top"},
		{"empty stays empty", "", ""},
		{"protocol-relative URL is dropped", "//evil.example", ""},
		{"absolute URL is dropped", "https://evil.example/", ""},
		{"backslash is dropped", `/\evil.example`, ""},
		{"tab that browsers strip is dropped", "/\t/evil.example", ""},
		{"newline is dropped", "/records\n", ""},
		{"relative path is dropped", "records", ""},
		{"overlong path is dropped", "/" + string(make([]byte, maxReturnTo)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localPath(tt.in); got != tt.want {
				t.Errorf("localPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		name       string
		configured []string
		want       []string
	}{
		{"none configured gives the defaults", nil, []string{"openid", "profile", "email"}},
		{"openid is added first", []string{"profile", "phone"}, []string{"openid", "profile", "phone"}},
		{"duplicates are dropped", []string{"openid", "email", "openid"}, []string{"openid", "email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scopes(tt.configured); !slices.Equal(got, tt.want) {
				t.Errorf("scopes(%q) = %q, want %q", tt.configured, got, tt.want)
			}
		})
	}
}
