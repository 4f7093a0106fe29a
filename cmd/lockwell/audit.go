package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
)

// auditCommand is "lockwell audit": read the audit log (admins), as a table
// or JSON, and with --follow keep polling for new records.
func auditCommand(a *app) *cobra.Command {
	var q client.AuditQuery
	var since, until, output string
	var follow bool
	var maxInterval time.Duration
	cmd := &cobra.Command{
		Use:   "audit [--secret NAME|ID] [--principal USER] [--operation OP] [--since T] [--until T] [-o table|json] [--follow]",
		Short: "Read the audit log (admins): who read or changed which secret, and when",
		Long: `Audit prints the deployment's audit log, oldest first: one record per request
that read values, changed a secret, managed tokens or was refused. Records never
hold values.

--secret NAME means the secret that name gives you now (your private secret of
that name, else the public one), with all its records, also those from before
a rename; when no secret has the name any more (deleted or purged), the records
that name it. --secret ID means that secret. --since and --until take an RFC 3339
time (2026-01-02T15:04:05Z), a date (2026-01-02, midnight UTC), or a duration
ago (90m, 24h, 7d). --operation takes one of: ` + strings.Join(auditOperations, ", ") + `.
--follow keeps polling for new records (backing off while none come) until
interrupted; with -o json it prints one JSON object per line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usagef(cmd, "-o must be table or json, got %q", shortArg(output))
			}
			var err error
			if q.Since, err = parseAuditTime(cmd, "--since", since, time.Now()); err != nil {
				return err
			}
			if q.Until, err = parseAuditTime(cmd, "--until", until, time.Now()); err != nil {
				return err
			}
			if q.Operation != "" && !slices.Contains(auditOperations, q.Operation) {
				return usagef(cmd, "--operation must be one of %s; got %q", strings.Join(auditOperations, ", "), shortArg(q.Operation))
			}
			var ctx context.Context
			var cancel context.CancelFunc
			if follow {
				ctx, cancel = a.bulkContext(cmd)
			} else {
				ctx, cancel = a.apiContext(cmd)
			}
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			if q.Secret, err = a.auditSecretFilter(ctx, c, q.Secret); err != nil {
				return err
			}
			p := auditPrinter{a: a, json: output == "json", lines: follow}
			wait := time.Second
			for {
				page, err := c.Audit(ctx, q)
				if err != nil {
					if follow && ctx.Err() != nil {
						return p.flush()
					}
					return err
				}
				p.add(page.Items)
				q.PageToken = page.NextPageToken
				if page.HasMore {
					continue
				}
				if !follow {
					return p.flush()
				}
				if err := p.flush(); err != nil {
					return err
				}
				if len(page.Items) > 0 {
					wait = time.Second
				} else {
					wait = min(2*wait, maxInterval)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(wait):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Secret, "secret", "", "only records of this secret: a name (the secret it gives you now) or an id")
	f.StringVar(&q.Principal, "principal", "", "only records of this principal")
	f.StringVar(&q.Operation, "operation", "", "only records of this operation: "+strings.Join(auditOperations, ", "))
	f.StringVar(&since, "since", "", "only records at or after this time: RFC 3339, a date (2026-01-02, UTC), or a duration ago (24h, 7d)")
	f.StringVar(&until, "until", "", "only records before this time (as --since)")
	f.IntVar(&q.PageSize, "page-size", 0, "records per request (server default 100)")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	f.BoolVarP(&follow, "follow", "f", false, "keep polling for new records until interrupted")
	f.DurationVar(&maxInterval, "max-interval", 30*time.Second, "longest wait between polls with --follow")
	return cmd
}

// auditOperations are the operation names the audit log holds: those the
// store records (reads and changes of secrets), those the API records itself
// (token operations), and the operations of the API's routes, which a
// refused request (unauthenticated, or not allowed) is recorded under.
var auditOperations = []string{
	"create", "get", "get_version", "lookup", "get_by_name", "list", "versions", "update",
	"delete", "purge", "restore", "rollback", "purge_expired",
	"create_token", "list_tokens", "revoke_token", "revoke_own_token",
	"list_migrations", "get_migration", "whoami", "audit", "events",
}

// auditSecretFilter returns what to ask GET /audit for given --secret arg.
// The API matches a record's secret id or its recorded name, so a name
// would mix every secret that ever had it and miss the records of the
// secret's older names: a name is resolved to the id of the secret it
// gives the caller now (private first, then public). When no secret has
// the name any more, it stays a name, with a note on stderr saying so.
func (a *app) auditSecretFilter(ctx context.Context, c *client.Client, arg string) (string, error) {
	if arg == "" || client.IsValidID(arg) {
		return arg, nil
	}
	s, err := c.FindSecretByName(ctx, arg, client.PrivateFirst)
	switch {
	case err == nil:
		return s.ID, nil
	case errcode.Is(err, errcode.NotFound):
		fmt.Fprintf(a.stderr, "No secret is named %s now (deleted or purged): showing the records that name it.\n", arg)
		return arg, nil
	}
	return "", err
}

// parseAuditTime parses s as an RFC 3339 time, a date (midnight UTC), or
// a duration before now: Go's (90m, 24h) or whole days (7d).
func parseAuditTime(cmd *cobra.Command, flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && days[0] != '+' {
			return now.AddDate(0, 0, -n), nil
		}
	}
	return time.Time{}, usagef(cmd, "%s must be an RFC 3339 time (2026-01-02T15:04:05Z), a date (2026-01-02), or a duration ago (24h, 7d); got %q", flag, shortArg(s))
}

// auditPrinter prints records as a table, a JSON array, or JSON lines.
type auditPrinter struct {
	a      *app
	json   bool
	lines  bool // JSON lines and a header only once (--follow)
	recs   []audit.Record
	head   bool  // the header was written
	widths []int // the column widths used so far
	// requestNames are the secret names the records printed so far gave,
	// by request id and secret id: a change's request record holds only the
	// id, its response record the name too.
	requestNames map[string]string
}

func (p *auditPrinter) add(recs []audit.Record) { p.recs = append(p.recs, recs...) }

func (p *auditPrinter) flush() error {
	defer func() { p.recs = p.recs[:0] }()
	if p.json {
		if p.lines {
			for _, r := range p.recs {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				if _, err := p.a.stdout.Write(append(b, '\n')); err != nil {
					return err
				}
			}
			return nil
		}
		data, err := marshalJSON(p.recs)
		if err != nil {
			return err
		}
		_, err = p.a.stdout.Write(data)
		return err
	}
	p.learnNames()
	rows := make([][]string, len(p.recs))
	for i, r := range p.recs {
		version := "-" // not known: a request record, or a refused request
		if r.Version > 0 {
			version = strconv.FormatInt(r.Version, 10)
		}
		outcome := r.Outcome
		if outcome == "" {
			outcome = "-" // a request record: the outcome is on its response record
		}
		client := r.ClientAddr
		if client == "" {
			client = "-"
		}
		rows[i] = []string{strconv.FormatInt(r.Seq, 10), displayTime(r.Time), orDash(r.Principal), r.Operation, r.Phase,
			p.target(&r), shortID(r.SecretID), version, outcome, client}
	}
	return p.writeTable(rows)
}

// auditHeader is the table's header row.
var auditHeader = []string{"SEQ", "TIME", "PRINCIPAL", "OPERATION", "PHASE", "SECRET", "ID", "VERSION", "OUTCOME", "CLIENT"}

// auditMinWidths are the widths the columns start with when following, so
// that later pages rarely need wider ones: the longest operation, phase
// and outcome, a short id.
var auditMinWidths = []int{6, 20, 12, 16, 8, 16, 8, 7, 19, 0}

// writeTable writes rows in columns two spaces apart, under the header.
// Without lines it is one table sized to its rows. With lines (--follow)
// pages come one after another, so the column widths only grow: a page
// that needs wider columns gets the header again, so that the header above
// rows always has their widths.
func (p *auditPrinter) writeTable(rows [][]string) error {
	if p.widths == nil {
		p.widths = make([]int, len(auditHeader))
		if p.lines {
			copy(p.widths, auditMinWidths)
		}
	}
	grown := false
	for _, row := range append([][]string{auditHeader}, rows...) {
		for i, cell := range row[:len(row)-1] { // the last column is not padded
			if w := utf8.RuneCountInString(cell); w > p.widths[i] {
				p.widths[i], grown = w, true
			}
		}
	}
	var b strings.Builder
	line := func(row []string) {
		for i, cell := range row[:len(row)-1] {
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", p.widths[i]-utf8.RuneCountInString(cell)+2))
		}
		b.WriteString(row[len(row)-1])
		b.WriteByte('\n')
	}
	if !p.head || grown && len(rows) > 0 {
		line(auditHeader)
		p.head = true
	}
	for _, row := range rows {
		line(row)
	}
	_, err := io.WriteString(p.a.stdout, b.String())
	return err
}

// shortID is the ID column: a secret id's last 8 characters, enough to
// tell secrets apart in a table (JSON has the full ids). Not the first
// ones: ids begin with their creation time (UUIDv7), so secrets created
// close together share them; the end is random.
func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return orDash(id)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// learnNames notes the secret names of the records to print.
func (p *auditPrinter) learnNames() {
	if p.requestNames == nil {
		p.requestNames = map[string]string{}
	}
	for _, r := range p.recs {
		if r.SecretID != "" && r.SecretName != "" {
			p.requestNames[r.RequestID+"\x00"+r.SecretID] = r.SecretName
		}
	}
}

// target is what the SECRET column shows for r: the secret's name when
// known (from r, or from the records of the same request), else "-";
// "token ID" for a token operation.
func (p *auditPrinter) target(r *audit.Record) string {
	switch {
	case r.TokenID != "":
		return "token " + r.TokenID
	case r.SecretName != "":
		return r.SecretName
	case r.SecretID == "":
		return "-"
	}
	if r.RequestID != "" {
		if name, ok := p.requestNames[r.RequestID+"\x00"+r.SecretID]; ok {
			return name // the name this request's response gave
		}
	}
	// Not a name from another request: the secret may have been called
	// otherwise then. The ID column says which secret it is.
	return "-"
}
