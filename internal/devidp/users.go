package devidp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// User is one account of the dev IdP, as in examples/dev/users.yaml.
//
// Username becomes the sub and user_name claims, Acct the acct claim (VCF
// SSO's email-like account) and Name the name claim. The password is kept
// in clear text: the dev IdP is for development and tests only.
//
// GivenName, FamilyName, Email and Org only matter to the CSP-like endpoints
// (Config.ConsoleOrgID), whose ID tokens carry given_name, family_name, email
// and context_name; each has a default, so they are optional.
type User struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Name     string `yaml:"name"`
	Acct     string `yaml:"acct"`

	GivenName  string `yaml:"givenName"`  // CSP given_name; default: first word of Name, else Username
	FamilyName string `yaml:"familyName"` // CSP family_name; default: rest of Name, else "User"
	Email      string `yaml:"email"`      // CSP email; default Acct
	Org        string `yaml:"org"`        // CSP context_name; default Config.ConsoleOrgID
}

// consoleNames returns the CSP given_name and family_name, with their defaults.
func (u User) consoleNames() (given, family string) {
	var first, rest string
	if words := strings.Fields(u.Name); len(words) > 0 {
		first, rest = words[0], strings.Join(words[1:], " ")
	}
	given, family = u.GivenName, u.FamilyName
	if given == "" {
		given = first
		if given == "" {
			given = u.Username
		}
	}
	if family == "" {
		family = rest
		if family == "" {
			family = "User"
		}
	}
	return given, family
}

// consoleEmail returns the CSP email claim: Email, else Acct.
func (u User) consoleEmail() string {
	if u.Email != "" {
		return u.Email
	}
	return u.Acct
}

// consoleOrg returns the CSP context_name: Org, else the console's organization.
func (u User) consoleOrg(defaultOrg string) string {
	if u.Org != "" {
		return u.Org
	}
	return defaultOrg
}

// usersFile is the shape of a users file.
type usersFile struct {
	Users []User `yaml:"users"`
}

// LoadUsers reads a YAML file of the form
//
//	users:
//	  - {username: alice, password: secret, name: Alice Example, acct: alice@example.com}
//	  - {username: dave, password: secret, acct: dave@example.com,
//	     givenName: Dave, familyName: Other, email: dave@other.example, org: other-org-id}
//
// (givenName, familyName, email and org are optional; see User.)
// It guarantees that every returned user has a username, a password and an
// acct, and that usernames are unique. Unknown keys are refused so that a
// typo does not silently drop a field. Every error names the file and, when
// one entry is at fault, that entry (e.g. "users.yaml: users[2]: username
// required").
func LoadUsers(path string) ([]User, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dev IdP users: %w", err)
	}
	var f usersFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no users", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Users) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	if err := validateUsers(f.Users); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.Users, nil
}

// validateUsers checks what the IdP relies on: a username to look users up
// by and to put in tokens, a password to check, and an acct claim. It is
// shared by LoadUsers and Start so that users built in code (tests) get the
// same checks as users read from a file.
func validateUsers(users []User) error {
	seen := make(map[string]int, len(users))
	for i, u := range users {
		switch {
		case strings.TrimSpace(u.Username) == "":
			return fmt.Errorf("users[%d]: username required", i)
		case strings.ContainsAny(u.Username, ":\r\n\t "):
			// op's opaque access tokens encode "tokenID:subject", so a colon in
			// the subject would make them ambiguous.
			return fmt.Errorf("users[%d] (%s): username must not contain ':' or white space", i, u.Username)
		case u.Password == "":
			return fmt.Errorf("users[%d] (%s): password required", i, u.Username)
		case strings.TrimSpace(u.Acct) == "":
			return fmt.Errorf("users[%d] (%s): acct required", i, u.Username)
		}
		if j, dup := seen[u.Username]; dup {
			return fmt.Errorf("users[%d] (%s): duplicate username (also users[%d])", i, u.Username, j)
		}
		seen[u.Username] = i
	}
	return nil
}
