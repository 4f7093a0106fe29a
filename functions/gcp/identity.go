package gcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/api/idtoken"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

// AuthMode says where a Cloud Function finds the caller's identity when
// LOCKWELL_AUTH is "platform" (the default): LOCKWELL_GCP_IDENTITY.
type AuthMode string

// The modes. Only one is trusted per deployment: a header another mode
// trusts is ignored, so a caller cannot pick the weakest.
const (
	// AuthIDToken (the default) verifies the Google ID token in
	// "Authorization: Bearer": signature against Google's keys, audience
	// (one of LOCKWELL_AUDIENCE's comma-separated values, required), issuer,
	// expiry, and a verified email.
	AuthIDToken AuthMode = "idtoken"
	// AuthIAP trusts Identity-Aware Proxy: the principal is the email IAP
	// forwards in X-Goog-Authenticated-User-Email, and the signed
	// X-Goog-Iap-Jwt-Assertion (audience: one of LOCKWELL_AUDIENCE's values,
	// required) must be valid and name the same email, so that a caller who
	// reaches the function without IAP cannot claim any identity by setting
	// the header. Only for functions reachable solely through IAP.
	AuthIAP AuthMode = "iap"
	// AuthAPIGateway trusts API Gateway, which verified the caller's JWT and
	// forwards its claims in X-Apigateway-Api-Userinfo: the principal is the
	// verified email, else the subject. Only for functions that only the
	// gateway's service account may invoke.
	AuthAPIGateway AuthMode = "apigateway"
)

// ParseAuthMode accepts the modes above; "" means AuthIDToken.
func ParseAuthMode(s string) (AuthMode, error) {
	switch m := AuthMode(s); m {
	case "":
		return AuthIDToken, nil
	case AuthIDToken, AuthIAP, AuthAPIGateway:
		return m, nil
	}
	return "", errcode.New(errcode.InvalidArgument, "LOCKWELL_GCP_IDENTITY must be idtoken, iap or apigateway, got %q", s)
}

// TokenValidator verifies Google-signed JWTs; *idtoken.Validator is one.
type TokenValidator interface {
	Validate(ctx context.Context, token, audience string) (*idtoken.Payload, error)
}

// AuthConfig configures a GoogleAuthenticator.
type AuthConfig struct {
	Mode AuthMode // AuthIDToken, AuthIAP or AuthAPIGateway
	// Audience is the accepted audiences, comma-separated (the functions'
	// URLs): the ID token's, required for AuthIDToken, or IAP's.
	Audience string
	Admins   []string // principal names (emails) with the admin role
	// Validator verifies tokens; nil uses idtoken's validator, which fetches
	// Google's public keys over HTTPS and caches them.
	Validator TokenValidator
}

// GoogleAuthenticator finds the principal of a Cloud Functions request as its
// mode says. It implements httpapi.Authenticator and is safe for concurrent
// use. Errors are unauthenticated and never contain a token.
type GoogleAuthenticator struct {
	mode      AuthMode
	audiences map[string]bool
	admins    map[string]bool
	validator TokenValidator
}

// NewGoogleAuthenticator checks cfg. Errors: invalid_argument for a mode it
// does not serve or an ID-token or IAP mode without audience.
func NewGoogleAuthenticator(ctx context.Context, cfg AuthConfig) (*GoogleAuthenticator, error) {
	switch cfg.Mode {
	case AuthIDToken:
		if cfg.Audience == "" {
			return nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUDIENCE must name the ID token audience (the function's URL) when LOCKWELL_GCP_IDENTITY=idtoken")
		}
	case AuthIAP:
		if strings.TrimSpace(strings.ReplaceAll(cfg.Audience, ",", "")) == "" {
			return nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUDIENCE must name IAP's audience (/projects/NUMBER/global/backendServices/ID) when LOCKWELL_GCP_IDENTITY=iap: without it the forwarded email could not be told from one a caller set")
		}
	case AuthAPIGateway:
	default:
		return nil, errcode.New(errcode.InvalidArgument, "auth mode %q is not a Google identity mode", cfg.Mode)
	}
	a := &GoogleAuthenticator{mode: cfg.Mode, audiences: map[string]bool{}, admins: map[string]bool{}, validator: cfg.Validator}
	for _, aud := range strings.Split(cfg.Audience, ",") {
		if aud = strings.TrimSpace(aud); aud != "" {
			a.audiences[aud] = true
		}
	}
	for _, n := range cfg.Admins {
		if n = strings.TrimSpace(n); n != "" {
			a.admins[n] = true
		}
	}
	if a.validator == nil && (cfg.Mode == AuthIDToken || cfg.Audience != "") {
		v, err := idtoken.NewValidator(ctx)
		if err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "create Google ID token validator")
		}
		a.validator = v
	}
	return a, nil
}

// The issuers of Google ID tokens and of IAP assertions.
var (
	googleIssuers = map[string]bool{"accounts.google.com": true, "https://accounts.google.com": true}
	iapIssuer     = "https://cloud.google.com/iap"
)

// Authenticate implements httpapi.Authenticator.
func (a *GoogleAuthenticator) Authenticate(r *http.Request) (identity.Principal, error) {
	var name string
	var err error
	switch a.mode {
	case AuthIDToken:
		name, err = a.idToken(r)
	case AuthIAP:
		name, err = a.iap(r)
	case AuthAPIGateway:
		name, err = apiGatewayUser(r)
	}
	if err != nil {
		return identity.Principal{}, err
	}
	if err := identity.ValidateName(name); err != nil {
		return identity.Principal{}, errcode.Wrap(errcode.Unauthenticated, err, "the caller's identity is not a valid principal name")
	}
	p := identity.Principal{Name: name, Role: identity.Member}
	if a.admins[name] {
		p.Role = identity.Admin
	}
	return p, nil
}

func (a *GoogleAuthenticator) idToken(r *http.Request) (string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", errcode.New(errcode.Unauthenticated, "send a Google ID token: Authorization: Bearer <token>")
	}
	payload, err := a.validate(r.Context(), strings.TrimSpace(token))
	if keysUnavailable(err) {
		return "", errcode.Wrap(errcode.Unavailable, err, "cannot fetch Google's public keys to verify the ID token; retry later")
	}
	if err != nil {
		return "", errcode.Wrap(errcode.Unauthenticated, err, "the Google ID token is not valid for this function")
	}
	if !googleIssuers[payload.Issuer] {
		return "", errcode.New(errcode.Unauthenticated, "the ID token was not issued by Google")
	}
	return verifiedEmail(payload.Claims)
}

func (a *GoogleAuthenticator) iap(r *http.Request) (string, error) {
	email, ok := strings.CutPrefix(r.Header.Get("X-Goog-Authenticated-User-Email"), "accounts.google.com:")
	if !ok || email == "" {
		return "", errcode.New(errcode.Unauthenticated, "no identity from Identity-Aware Proxy")
	}
	assertion := r.Header.Get("X-Goog-Iap-Jwt-Assertion")
	if assertion == "" {
		return "", errcode.New(errcode.Unauthenticated, "no Identity-Aware Proxy assertion")
	}
	payload, err := a.validate(r.Context(), assertion)
	if keysUnavailable(err) {
		return "", errcode.Wrap(errcode.Unavailable, err, "cannot fetch Identity-Aware Proxy's public keys to verify the assertion; retry later")
	}
	if err != nil {
		return "", errcode.Wrap(errcode.Unauthenticated, err, "the Identity-Aware Proxy assertion is not valid for this function")
	}
	if payload.Issuer != iapIssuer {
		return "", errcode.New(errcode.Unauthenticated, "the assertion was not issued by Identity-Aware Proxy")
	}
	if claimed, _ := payload.Claims["email"].(string); claimed != email {
		return "", errcode.New(errcode.Unauthenticated, "the Identity-Aware Proxy assertion names another user")
	}
	return email, nil
}

// validate checks the token's signature and expiry, then that its audience
// is one of the configured ones.
func (a *GoogleAuthenticator) validate(ctx context.Context, token string) (*idtoken.Payload, error) {
	payload, err := a.validator.Validate(ctx, token, "")
	if err != nil {
		return nil, err
	}
	if !a.audiences[payload.Audience] {
		return nil, errors.New("idtoken: the aud claim is not an audience of this deployment")
	}
	return payload, nil
}

// keysUnavailable reports whether a validation failed because Google's
// public keys could not be fetched (the network, a deadline, an error
// status): a failure of this server, which the caller cannot fix by sending
// other credentials, so it must not be answered as 401.
func keysUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ue *url.Error
	return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.HasPrefix(err.Error(), "idtoken: unable to retrieve cert")
}

// apiGatewayUser reads the claims API Gateway forwards: base64url JSON, with
// or without padding.
func apiGatewayUser(r *http.Request) (string, error) {
	raw := strings.TrimRight(r.Header.Get("X-Apigateway-Api-Userinfo"), "=")
	if raw == "" {
		return "", errcode.New(errcode.Unauthenticated, "no identity from API Gateway")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", errcode.New(errcode.Unauthenticated, "the API Gateway user info is not base64url")
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return "", errcode.New(errcode.Unauthenticated, "the API Gateway user info is not a JSON object")
	}
	if email, err := verifiedEmail(claims); err == nil {
		return email, nil
	}
	if sub, _ := claims["sub"].(string); sub != "" {
		return sub, nil
	}
	return "", errcode.New(errcode.Unauthenticated, "the API Gateway user info has neither a verified email nor a subject")
}

// verifiedEmail returns the email claim when email_verified is true (a
// boolean, or the string "true" some issuers send).
func verifiedEmail(claims map[string]any) (string, error) {
	email, _ := claims["email"].(string)
	if email == "" {
		return "", errcode.New(errcode.Unauthenticated, "the token has no email claim; mint it with the email scope (gcloud auth print-identity-token includes it)")
	}
	switch v := claims["email_verified"].(type) {
	case bool:
		if v {
			return email, nil
		}
	case string:
		if v == "true" {
			return email, nil
		}
	}
	return "", errcode.New(errcode.Unauthenticated, "the token's email is not verified")
}
