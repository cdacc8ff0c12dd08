package nhslogin

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clientAssertionType is RFC 7523's client_assertion_type for a JWT.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is short: the assertion is used at once, and a leaked
// one should be worthless soon.
const assertionLifetime = time.Minute

// assertionAlg is the algorithm NHS login requires for client assertions.
const assertionAlg = jose.RS512

// minKeyBits is the smallest RSA key accepted for client authentication.
const minKeyBits = 2048

// errKey reports a PrivateKeyPEM that is not a usable RSA private key.
var errKey = errors.New("not an RSA private key of at least 2048 bits in PEM")

// parseKey reads a PKCS #1 or PKCS #8 RSA private key.
func parseKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errKey
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errKey
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errKey
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errKey
		}
		key = rk
	default:
		return nil, errKey
	}
	if key.N.BitLen() < minKeyBits {
		return nil, errKey
	}
	return key, nil
}

// clientAssertion signs the private_key_jwt that authenticates the portal
// at the token endpoint (RFC 7523 section 3).
func (p *Provider) clientAssertion() (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: assertionAlg, Key: jose.JSONWebKey{Key: p.key, KeyID: p.cfg.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := p.now()
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   p.cfg.ClientID,
		Subject:  p.cfg.ClientID,
		Audience: jwt.Audience{p.oauth.Endpoint.TokenURL},
		ID:       randomToken(),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}).Serialize()
}
