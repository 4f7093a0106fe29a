package dynamostore

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// nameKeyEnd follows every character of a name key (names and ids use
// characters below '~'), so [p, p+"~"] is every key starting with p.
const nameKeyEnd = "~"

// listed is a list item with its sort key.
type listed struct {
	key    string
	secret *secret.Secret
}

// expr collects the placeholders of one Query's expressions, so that only
// names and values that are used are sent (DynamoDB rejects unused ones).
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

func (e *expr) name(n string) string {
	e.names["#"+n] = n
	return "#" + n
}

func (e *expr) value(v string) string {
	ph := ":v" + strconv.Itoa(len(e.values))
	e.values[ph] = str(v)
	return ph
}

// List implements backend.Backend: one Query per visible scope on the index
// of the sort order, merged (see the package doc); with q.Deleted the same
// on the scopes of deleted secrets ("del#" + scope). Never returns values.
// Errors: invalid_argument for a query without a viewer; unavailable.
func (b *Backend) List(ctx context.Context, q backend.Query) ([]*secret.Secret, error) {
	if q.Viewer == "" {
		return nil, errcode.New(errcode.InvalidArgument, "a listing needs a viewer")
	}
	limit := max(q.Limit, 1)
	if q.Name != "" && (!strings.HasPrefix(q.Name, q.NamePrefix) || !strings.Contains(q.Name, q.NameContains)) {
		return []*secret.Secret{}, nil // the filters exclude each other
	}
	type scopeQuery struct{ scope, owner string }
	var scopes []scopeQuery
	if q.Private == nil || !*q.Private {
		scopes = append(scopes, scopeQuery{scopePublic, q.Owner})
	}
	if (q.Private == nil || *q.Private) && (q.Owner == "" || q.Owner == q.Viewer) {
		scopes = append(scopes, scopeQuery{scopePrivate + q.Viewer, ""})
	}
	if q.Deleted {
		for i := range scopes {
			scopes[i].scope = scopeDeleted + scopes[i].scope
		}
	}
	results := make([][]listed, len(scopes))
	errs := make([]error, len(scopes))
	var wg sync.WaitGroup
	for i, sc := range scopes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.listScope(ctx, q, sc.scope, sc.owner, limit)
		}()
	}
	wg.Wait()
	var all []listed
	for i := range scopes {
		if errs[i] != nil {
			return nil, errs[i]
		}
		all = append(all, results[i]...)
	}
	sort.Slice(all, func(i, j int) bool {
		if q.Sort.Desc {
			return all[i].key > all[j].key
		}
		return all[i].key < all[j].key
	})
	out := make([]*secret.Secret, 0, min(len(all), limit))
	for _, l := range all[:min(len(all), limit)] {
		out = append(out, l.secret)
	}
	return out, nil
}

// listScope returns up to limit matching items of one scope after the
// cursor, in order, reading further Query pages only while filters leave
// the page short.
func (b *Backend) listScope(ctx context.Context, q backend.Query, scope, owner string, limit int) ([]listed, error) {
	index, keyAttr := indexByName, attrNameKey
	switch q.Sort.Field {
	case backend.ByCreated:
		index, keyAttr = indexByCreated, attrCreKey
	case backend.ByUpdated:
		index, keyAttr = indexByUpdated, attrUpdKey
	}
	cursor := ""
	if q.After != nil {
		if keyAttr == attrNameKey {
			cursor = sortKey(q.After.Name, q.After.ID)
		} else {
			cursor = sortKey(formatTime(q.After.Time), q.After.ID)
		}
	}

	// The key range: a name prefix (or exact name) on the name index, and
	// the cursor. Both ends are inclusive; the cursor's own item is skipped.
	lo, hi := "", ""
	if keyAttr == attrNameKey {
		p := q.NamePrefix
		if q.Name != "" {
			p = q.Name + "#"
		}
		if p != "" {
			lo, hi = p, p+nameKeyEnd
		}
	}
	if cursor != "" {
		if q.Sort.Desc && (hi == "" || cursor < hi) {
			hi = cursor
		}
		if !q.Sort.Desc && cursor > lo {
			lo = cursor
		}
	}
	if lo != "" && hi != "" && lo > hi {
		return nil, nil
	}
	e := &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
	keyCond := e.name(attrScope) + " = " + e.value(scope)
	switch {
	case lo != "" && hi != "":
		keyCond += " AND " + e.name(keyAttr) + " BETWEEN " + e.value(lo) + " AND " + e.value(hi)
	case lo != "":
		keyCond += " AND " + e.name(keyAttr) + " >= " + e.value(lo)
	case hi != "":
		keyCond += " AND " + e.name(keyAttr) + " <= " + e.value(hi)
	}
	var filters []string
	if keyAttr != attrNameKey {
		if q.Name != "" {
			filters = append(filters, e.name(attrName)+" = "+e.value(q.Name))
		} else if q.NamePrefix != "" {
			filters = append(filters, "begins_with("+e.name(attrName)+", "+e.value(q.NamePrefix)+")")
		}
	}
	if q.NameContains != "" {
		filters = append(filters, "contains("+e.name(attrName)+", "+e.value(q.NameContains)+")")
	}
	if owner != "" {
		filters = append(filters, e.name(attrOwner)+" = "+e.value(owner))
	}
	in := &dynamodb.QueryInput{
		TableName: b.table, IndexName: aws.String(index),
		KeyConditionExpression:    aws.String(keyCond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
		ScanIndexForward:          aws.Bool(!q.Sort.Desc),
		Limit:                     aws.Int32(int32(min(limit+1, 1000))), // +1: the cursor's item may come back
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
		// Limit counts items read before the filter: read more per call.
		in.Limit = aws.Int32(int32(min(max(4*(limit+1), 100), 1000)))
	}

	var out []listed
	for {
		var page *dynamodb.QueryOutput
		err := b.call(ctx, "list secrets", func(ctx context.Context) error {
			var err error
			page, err = b.db.Query(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			key := getS(item, keyAttr)
			if key == cursor {
				continue
			}
			st, err := decodeSecret(item)
			if err != nil {
				return nil, err
			}
			out = append(out, listed{key: key, secret: st.secret})
			if len(out) == limit {
				return out, nil
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
