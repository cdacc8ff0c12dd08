// Package ent holds the generated data layer. The hand-written parts are
// schema/ (the model), access/ (who may see what) and entc.go.
package ent

//go:generate go run -mod=mod entc.go bootstrap
//go:generate go run -mod=mod entc.go
