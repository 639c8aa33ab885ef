package chime

// Service is a bit set of the AWS services an operation belongs to.
type Service uint8

// The two services Belfry speaks. The tag operations belong to both.
const (
	ServiceIdentity Service = 1 << iota
	ServiceMessaging
)

// BearerRule says whether an operation takes the x-amz-chime-bearer header.
type BearerRule uint8

// Bearer rules, from the models.
const (
	BearerNone     BearerRule = iota // developer API: no bearer member
	BearerOptional                   // bearer member present but not required
	BearerRequired                   // every call acts as an AppInstanceUser or bot
)

// Operation describes one API operation as the model declares it.
type Operation struct {
	Name          string
	Services      Service
	Method        string
	Path          string // template, e.g. /channels/{channelArn}/messages
	QueryKey      string // discriminator key, e.g. "operation" in ?operation=redact
	QueryValue    string
	SuccessStatus int
	Bearer        BearerRule
	HasOutput     bool
}

// Bearing is implemented by every input that carries x-amz-chime-bearer.
type Bearing interface {
	Bearer() string
}

// String is the operation's name, as messages and logs say it.
func (o *Operation) String() string { return o.Name }
