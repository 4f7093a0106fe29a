package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

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
hold values. Times are RFC 3339 (2026-01-02T15:04:05Z) or a duration ago (24h).
--follow keeps polling for new records (backing off while none come) until
interrupted; with -o json it prints one JSON object per line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return errcode.New(errcode.InvalidArgument, "-o must be table or json, got %q", output)
			}
			var err error
			if q.Since, err = parseAuditTime("--since", since); err != nil {
				return err
			}
			if q.Until, err = parseAuditTime("--until", until); err != nil {
				return err
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
	f.StringVar(&q.Secret, "secret", "", "only records of this secret (name or id)")
	f.StringVar(&q.Principal, "principal", "", "only records of this principal")
	f.StringVar(&q.Operation, "operation", "", "only records of this operation (get, lookup, create, update, delete, create_token, ...)")
	f.StringVar(&since, "since", "", "only records at or after this time (RFC 3339, or a duration ago such as 24h)")
	f.StringVar(&until, "until", "", "only records before this time")
	f.IntVar(&q.PageSize, "page-size", 0, "records per request (server default 100)")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	f.BoolVarP(&follow, "follow", "f", false, "keep polling for new records until interrupted")
	f.DurationVar(&maxInterval, "max-interval", 30*time.Second, "longest wait between polls with --follow")
	return cmd
}

// parseAuditTime parses an RFC 3339 time or a duration before now.
func parseAuditTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, errcode.New(errcode.InvalidArgument, "%s must be an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (24h)", flag)
}

// auditPrinter prints records as a table, a JSON array, or JSON lines.
type auditPrinter struct {
	a     *app
	json  bool
	lines bool // JSON lines and a header only once (--follow)
	recs  []audit.Record
	head  bool
	// names are the secret names the records printed so far gave, by
	// secret id, and by request id and secret id: a change's request record
	// holds only the id, its response record the name too.
	names, requestNames map[string]string
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
	tw := tabwriter.NewWriter(p.a.stdout, 0, 4, 2, ' ', 0)
	if !p.head {
		fmt.Fprintln(tw, "SEQ\tTIME\tPRINCIPAL\tOPERATION\tPHASE\tSECRET\tVERSION\tOUTCOME\tCLIENT")
		p.head = true
	}
	p.learnNames()
	for _, r := range p.recs {
		version := "-" // not known: a request record, or a refused request
		if r.Version > 0 {
			version = strconv.FormatInt(r.Version, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, displayTime(r.Time), r.Principal, r.Operation, r.Phase, p.target(&r), version, r.Outcome, r.ClientAddr)
	}
	return tw.Flush()
}

// learnNames notes the secret names of the records to print.
func (p *auditPrinter) learnNames() {
	if p.names == nil {
		p.names, p.requestNames = map[string]string{}, map[string]string{}
	}
	for _, r := range p.recs {
		if r.SecretID != "" && r.SecretName != "" {
			p.names[r.SecretID] = r.SecretName
			p.requestNames[r.RequestID+"\x00"+r.SecretID] = r.SecretName
		}
	}
}

// target is what the SECRET column shows for r: the secret's name when
// known (from r, or from the records of the same request or the same
// secret), else its id; "token ID" for a token operation.
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
	if name, ok := p.names[r.SecretID]; ok {
		return name
	}
	return r.SecretID
}
