package chime

import (
	"errors"
	"fmt"
)

// ErrorKind names an AWS exception, as sent in the x-amzn-ErrorType header
// (for example "BadRequestException"). The modeled kinds are generated; the
// transport maps each kind to its status and body code in one table.
type ErrorKind string

// Kinds that are not in the models but that a real endpoint answers with.
const (
	// NotImplemented is returned by operations a later release builds.
	NotImplemented ErrorKind = "NotImplementedException"
	// UnknownOperation is the answer to a method and path no operation has.
	UnknownOperation ErrorKind = "UnknownOperationException"
)

// Error is the error type of every Belfry layer: a kind that maps once to the
// wire and a message that is safe to show the caller.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Message }

// Errorf builds an *Error of kind with a formatted message.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of err, or "" when err is not (and wraps no) *Error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func notImplemented(op *Operation) error {
	return Errorf(NotImplemented, "%s is not implemented by this version of Belfry yet.", op.Name)
}

// exceptionInfo is how a modeled exception travels: HTTP status, the
// ErrorCode enum value in the body, and whether it is a server fault.
type exceptionInfo struct {
	Status int
	Code   string
	Fault  bool
}

// ExceptionInfo returns the HTTP status and body Code the model gives kind.
// ok is false for kinds the models do not declare.
func ExceptionInfo(kind ErrorKind) (status int, code string, ok bool) {
	info, ok := modelExceptions[kind]
	return info.Status, info.Code, ok
}

// Authentication failures, as AWS's front door answers them (all HTTP 403).
const (
	MissingAuthenticationToken ErrorKind = "MissingAuthenticationTokenException"
	IncompleteSignature        ErrorKind = "IncompleteSignatureException"
	InvalidSignature           ErrorKind = "InvalidSignatureException"
	UnrecognizedClient         ErrorKind = "UnrecognizedClientException"
	// ExpiredToken: a genuine temporary credential past its Expiration;
	// the AWS SDKs refresh refreshable credentials when they see it.
	ExpiredToken ErrorKind = "ExpiredTokenException"
)
