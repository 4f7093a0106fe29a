package gcpsecretmanager

import (
	"strings"

	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// parseFilter compiles a ListSecrets filter into a predicate. It supports
// the subset of the List filter syntax the package doc names: terms joined
// by whitespace or AND, each `labels.KEY=VALUE`, `labels.KEY:VALUE`,
// `labels.KEY:*`, `name:TEXT` or `name=FULL_NAME`; values may be quoted.
func parseFilter(filter string) (func(*pb.Secret) bool, error) {
	terms, err := splitTerms(filter)
	if err != nil {
		return nil, err
	}
	var preds []func(*pb.Secret) bool
	for _, term := range terms {
		switch term {
		case "AND":
			continue
		case "OR", "NOT":
			return nil, status.Errorf(codes.InvalidArgument, "the local Secret Manager does not support %s in filters", term)
		}
		i := strings.IndexAny(term, "=:")
		if i <= 0 {
			return nil, status.Errorf(codes.InvalidArgument, "invalid filter term %q", term)
		}
		field, op, value := term[:i], term[i], unquote(term[i+1:])
		switch {
		case strings.HasPrefix(field, "labels.") && len(field) > len("labels."):
			key := field[len("labels."):]
			switch {
			case op == ':' && value == "*":
				preds = append(preds, func(s *pb.Secret) bool { _, ok := s.GetLabels()[key]; return ok })
			default:
				preds = append(preds, func(s *pb.Secret) bool { v, ok := s.GetLabels()[key]; return ok && v == value })
			}
		case field == "name" && op == ':':
			preds = append(preds, func(s *pb.Secret) bool {
				return strings.Contains(s.GetName()[strings.LastIndex(s.GetName(), "/")+1:], value)
			})
		case field == "name" && op == '=':
			preds = append(preds, func(s *pb.Secret) bool { return s.GetName() == value })
		default:
			return nil, status.Errorf(codes.InvalidArgument, "the local Secret Manager cannot filter on %q", field)
		}
	}
	return func(s *pb.Secret) bool {
		for _, p := range preds {
			if !p(s) {
				return false
			}
		}
		return true
	}, nil
}

// splitTerms splits on whitespace outside double quotes.
func splitTerms(filter string) ([]string, error) {
	var terms []string
	var b strings.Builder
	quoted := false
	for _, r := range filter {
		switch {
		case r == '"':
			quoted = !quoted
			b.WriteRune(r)
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			if b.Len() > 0 {
				terms = append(terms, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if quoted {
		return nil, status.Errorf(codes.InvalidArgument, "unterminated quote in filter")
	}
	if b.Len() > 0 {
		terms = append(terms, b.String())
	}
	return terms, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
