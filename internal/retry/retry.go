// Package retry holds the one contract background workers share for
// deciding whether a failed attempt is worth repeating.
package retry

import "errors"

// IsPermanent reports whether retrying err is pointless: some error in its
// chain says so through a Permanent() bool method. Packages mark their
// errors with that method rather than exporting a type, so a worker can
// recognise the mark without importing the package that made the error.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
