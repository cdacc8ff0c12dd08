//go:build ignore

// Command entc generates the Ent code, the entgql schema and then the
// gqlgen executable schema. go generate runs it from ent/; it works from
// the repository root because entgql and gqlgen resolve paths from there.
// With the argument "bootstrap" it loads the schema without its privacy
// policies, which cannot compile before ent/privacy exists, and stops
// before gqlgen.
package main

import (
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
}

// sequentialFields resolves the fields of every object below Query on the
// request's goroutine. Their edges are eager-loaded with the parent, so a
// goroutine per field buys no parallelism, only its own cost (a stack, a
// wait group, and a stack copy when the field's work outgrows it).
type sequentialFields struct{}

func (sequentialFields) Name() string { return "sequentialfields" }

func (sequentialFields) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		if o.Definition != data.Schema.Query && o.Definition != data.Schema.Subscription {
			o.DisableConcurrency = true
		}
	}
	return nil
}
