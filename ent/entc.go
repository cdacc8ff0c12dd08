//go:build ignore

// Command entc generates the Ent code, the entgql schema and then the
// gqlgen executable schema. go generate runs it from ent/; it works from
// the repository root because entgql and gqlgen resolve paths from there.
// With the argument "bootstrap" it loads the schema without its privacy
// policies, which cannot compile before ent/privacy exists, and stops
// before gqlgen.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	if _, err := os.Stat("gqlgen.yml"); err != nil {
		if err := os.Chdir(".."); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := os.Stat("gqlgen.yml"); err != nil {
		log.Fatal("entc: run from the repository root or from ent/")
	}
	bootstrap := len(os.Args) > 1 && os.Args[1] == "bootstrap"

	ex, err := entgql.NewExtension(
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath(filepath.Join("graph", "ent.graphql")),
		entgql.WithConfigPath("gqlgen.yml"),
		entgql.WithWhereInputs(true),
		entgql.WithRelaySpec(true),
	)
	if err != nil {
		log.Fatalf("entc: creating entgql extension: %v", err)
	}
	opts := []entc.Option{
		entc.Extensions(ex),
		entc.TemplateDir("./ent/template"),
		entc.FeatureNames("privacy", "entql", "intercept", "sql/upsert", "sql/versioned-migration", "sql/execquery"),
	}
	if bootstrap {
		opts = append(opts, entc.BuildTags("entbootstrap"))
	}
	if err := entc.Generate("./ent/schema", &gen.Config{}, opts...); err != nil {
		log.Fatalf("entc: running ent codegen: %v", err)
	}
	if bootstrap {
		return
	}
	cfg, err := config.LoadConfig("gqlgen.yml")
	if err != nil {
		log.Fatalf("entc: loading gqlgen.yml: %v", err)
	}
	if err := api.Generate(cfg, api.AddPlugin(sequentialFields{})); err != nil {
		log.Fatalf("entc: running gqlgen: %v", err)
	}
	if err := lightenExecution(cfg.Exec.Filename); err != nil {
		log.Fatalf("entc: %v", err)
	}
}

// lightenExecution changes two calls in the executable schema gqlgen
// wrote, each for a cost it has no setting for (a plugin runs before the
// code is written, so the file is edited after):
//
//   - lists of objects marshal with graph.marshalInOrder (see there why)
//     instead of a goroutine per element;
//   - an object's deferred group is left empty instead of built (its path
//     from the root, a field set and a map, for every object answered):
//     only a field resolved concurrently can be deferred, and
//     sequentialFields leaves none, so the group was never filled.
func lightenExecution(file string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if bytes.Contains(src, []byte("&deferred")) {
		return fmt.Errorf("%s defers a concurrent field: its deferred groups must be built", file)
	}
	for _, r := range []struct{ from, to string }{
		{"graphql.MarshalSliceConcurrently(", "marshalInOrder("},
		{"deferred := graphql.NewDeferredGroup(ctx)", "var deferred graphql.DeferredGroup"},
	} {
		if !bytes.Contains(src, []byte(r.from)) {
			return fmt.Errorf("%s has no %s: has gqlgen changed what it writes?", file, r.from)
		}
		src = bytes.ReplaceAll(src, []byte(r.from), []byte(r.to))
	}
	return os.WriteFile(file, src, 0o644)
}

// sequentialFields resolves the fields of every object, Query's included,
// on the request's goroutine. Edges are eager-loaded with their parent, so
// a goroutine per field buys no parallelism, only its own cost (a stack, a
// wait group, and a stack copy when the field's work outgrows it); under
// load the other cores are busy with other requests anyway. Mutation's
// fields run in order by the specification, and a subscription's is one.
type sequentialFields struct{}

func (sequentialFields) Name() string { return "sequentialfields" }

func (sequentialFields) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		if o.Definition != data.Schema.Subscription {
			o.DisableConcurrency = true
		}
	}
	return nil
}
