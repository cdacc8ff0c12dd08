package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/patientportal/portal/graph"
)

// APQCacheSize bounds the automatic persisted queries kept in memory.
const APQCacheSize = 1000

// Conditions of persisted queries.
var (
	// ErrPersistedQueryNotFound asks the client to send the document with
	// its hash (Apollo's automatic persisted queries protocol).
	ErrPersistedQueryNotFound = errors.New("PersistedQueryNotFound")
	// ErrPersistedQueryInvalid is a malformed persistedQuery extension, or
	// a hash that does not match the document sent.
	ErrPersistedQueryInvalid = errors.New("invalid persisted query")
	// ErrOperationNotAllowed refuses a document not in the allow-list.
	ErrOperationNotAllowed = errors.New("this operation is not registered with the server")
	// ErrAllowlist is a bad allow-list file.
	ErrAllowlist = errors.New("operations allow-list")
)

// Allowlist maps the SHA-256 (lowercase hex) of each registered document
// to its exact text.
type Allowlist map[string]string

// LoadAllowlist reads an allow-list file: a JSON object from each
// document's SHA-256 to the document (the persisted-query manifest format
// of Relay and of Apollo's generators). Every hash must match its document
// and every document must be valid against the schema, or the server does
// not start.
func LoadAllowlist(path string) (Allowlist, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAllowlist, err)
	}
	var entries map[string]string
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object of hashes to documents: %w", ErrAllowlist, path, err)
	}
	schema := graph.NewSchema(&graph.Resolver{}).Schema()
	list := make(Allowlist, len(entries))
	for hash, doc := range entries {
		if sum := queryHash(doc); sum != strings.ToLower(hash) {
			return nil, fmt.Errorf("%w: %s: the document's SHA-256 is %s", ErrAllowlist, hash, sum)
		}
		if _, err := gqlparser.LoadQuery(schema, doc); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrAllowlist, hash, err)
		}
		list[strings.ToLower(hash)] = doc
	}
	return list, nil
}

// persisted is a gqlgen extension for persisted queries. Without an
// allow-list it is gqlgen's automatic persisted queries over a bounded
// cache; with one, only the allow-list's documents run, by hash or by full
// text, and nothing is added to it.
type persisted struct {
	apq   extension.AutomaticPersistedQuery
	allow Allowlist
}

var (
	_ graphql.HandlerExtension          = persisted{}
	_ graphql.OperationParameterMutator = persisted{}
)

func newPersisted(allow Allowlist) persisted {
	return persisted{apq: extension.AutomaticPersistedQuery{Cache: lru.New[string](APQCacheSize)}, allow: allow}
}

// ExtensionName implements graphql.HandlerExtension.
func (persisted) ExtensionName() string { return "PersistedQueries" }

// Validate implements graphql.HandlerExtension.
func (p persisted) Validate(s graphql.ExecutableSchema) error { return p.apq.Validate(s) }

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (p persisted) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if p.allow == nil {
		if err := p.apq.MutateOperationParameters(ctx, params); err != nil {
			if code, _ := err.Extensions["code"].(string); code == CodePersistedQueryNotFound {
				return documentError(ErrPersistedQueryNotFound, nil)
			}
			return documentError(fmt.Errorf("%w: %s", ErrPersistedQueryInvalid, err.Message), nil)
		}
		return nil
	}
	hash, err := persistedHash(params.Extensions)
	if err != nil {
		return documentError(err, nil)
	}
	if params.Query == "" {
		if hash == "" {
			return nil // gqlgen answers that no operation was given
		}
		doc, ok := p.allow[hash]
		if !ok {
			return documentError(ErrPersistedQueryNotFound, nil)
		}
		params.Query = doc
		return nil
	}
	sum := queryHash(params.Query)
	if hash != "" && hash != sum {
		return documentError(fmt.Errorf("%w: the hash does not match the document", ErrPersistedQueryInvalid), nil)
	}
	if _, ok := p.allow[sum]; !ok {
		return documentError(ErrOperationNotAllowed, nil)
	}
	return nil
}

// persistedHash reads extensions.persistedQuery: {version: 1, sha256Hash}.
func persistedHash(ext map[string]any) (string, error) {
	v, ok := ext["persistedQuery"]
	if !ok || v == nil {
		return "", nil
	}
	pq, ok := v.(map[string]any)
	if !ok {
		return "", fmt.Errorf("%w: persistedQuery must be an object", ErrPersistedQueryInvalid)
	}
	if version, _ := pq["version"].(float64); version != 1 {
		if n, isNumber := pq["version"].(json.Number); !isNumber || n.String() != "1" {
			return "", fmt.Errorf("%w: only version 1 is supported", ErrPersistedQueryInvalid)
		}
	}
	hash, _ := pq["sha256Hash"].(string)
	if hash == "" {
		return "", fmt.Errorf("%w: sha256Hash is missing", ErrPersistedQueryInvalid)
	}
	return strings.ToLower(hash), nil
}

func queryHash(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}
