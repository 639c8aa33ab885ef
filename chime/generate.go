// Package chime is Belfry's domain: the Chime SDK Identity and Messaging API
// surface (wire types, validators and operation descriptors generated from the
// AWS models), the error type every layer returns, ARNs, and the rules of who
// may call what. It imports nothing of Belfry's and nothing of HTTP.
package chime

//go:generate go run ../internal/apigen -chime . -httpapi ../httpapi
