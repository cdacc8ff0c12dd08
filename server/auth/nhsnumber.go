package auth

// ValidNHSNumber reports whether s is ten digits with a correct Modulus 11
// check digit.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := range 9 {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && s[9] >= '0' && s[9] <= '9' && int(s[9]-'0') == check
}
