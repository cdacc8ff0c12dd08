package auth

// NewToken returns a new single-use link token and the hash to store in its
// place: the same scheme as sessions and invitations, so that a token made
// elsewhere (a share invitation) is found by the same lookup.
func NewToken() (token, hash string, err error) {
	token, err = newToken()
	if err != nil {
		return "", "", err
	}
	return token, hashToken(token), nil
}
