// Package sqlstore is the SQL backend: a complete store (metadata and sealed
// values in one table) on database/sql, serving SQLite through the pure-Go
// modernc.org/sqlite driver, PostgreSQL through pgx and MySQL/MariaDB through
// go-sql-driver/mysql. All three share one schema and one set of statements,
// created and upgraded by versioned migrations (embedded .sql files, one
// directory per dialect, recorded in a schema_migrations table); what
// differs is in the dialect type.
//
// Open it by URL, through backend.Open or Open:
//
//	sqlite:///var/lib/lockwell/lockwell.db              an absolute path
//	sqlite:.lockwell/lockwell.db                        a path relative to the working directory
//	postgres://db.internal:5432/lockwell?sslmode=verify-full&search_path=lockwell
//	mysql://db.internal:3306/lockwell?tls=true&max_conns=20
//
// SQLite parameters: busy_timeout_ms (how long a writer waits for another
// process's lock; default 5000) and synchronous (full, the default, or
// normal). The database runs in WAL mode with foreign keys on. synchronous=full
// fsyncs the WAL at every commit, so an acknowledged write survives power
// loss; normal still survives a crash of the process (kill -9), because a
// committed transaction is in the WAL file in the operating system's cache,
// but not a crash of the machine. One connection writes (so writers queue
// in-process instead of failing with SQLITE_BUSY) and several read
// concurrently; the file and its -wal and -shm companions are created with
// mode 0600.
//
// PostgreSQL parameters: sslmode, sslrootcert, search_path (the schema the
// tables live in; it must exist), connect_timeout, application_name and
// max_conns (default 10). The user and password come only from the standard
// environment (PGUSER, PGPASSWORD, PGPASSFILE), never from the URL.
//
// MySQL parameters (shared/mysqlconn reads them): tls (true, the default;
// skip-verify; false), max_conns (default 10) and connect_timeout; the user
// comes from MYSQL_USER and the password from MYSQL_PWD or the file
// MYSQL_PWD_FILE names, never from the URL. The database must exist. Tables
// are InnoDB in utf8mb4 with the binary collation utf8mb4_bin; sessions run
// READ COMMITTED with ANSI_QUOTES. MySQL has no partial indexes, so its
// uniqueness rules are unique indexes on generated columns (public_name,
// (private_owner, name)) that are NULL for the rows a rule does not cover.
// MySQL commits at every schema change, so a migration that fails part way
// there can leave part of itself applied (see migrate).
//
// Values are sealed with the envelope.Sealer from backend.Options before a
// statement runs (sealing may call a KMS), with the secret id and version as
// additional authenticated data; the store refuses to open without a Sealer.
// Secrets stored without values (an index paired with an external value
// store) keep NULL instead.
//
// The database enforces the uniqueness rules (partial unique indexes, or
// generated columns in MySQL: public names; private (owner, name)), so
// concurrent creates and renames need no locking here, and updates are
// compare-and-set on the version column. Modify (unconditional merges) reads
// and writes in one transaction under the row lock (PostgreSQL's and MySQL's
// SELECT ... FOR UPDATE) or the write lock (SQLite), so concurrent merges
// queue. Idempotency records go in the same transaction as their write.
// Listing is keyset pagination on an index per sort field with the id as
// tie-break, compared as a row value ((name, id) > (?, ?); MySQL also gets
// name >= ?, as its planner makes a range only of that), so a deep page
// costs what the first one does; names compare bytewise in every dialect
// (PostgreSQL columns use the "C" collation, MySQL ones utf8mb4_bin) and
// name filters are literal and case-sensitive (instr in SQLite and MySQL,
// starts_with/strpos in PostgreSQL; never LIKE). Driver errors are
// classified in one place (classify).
//
// History (migration 0004): the current version of a secret is its row in
// secrets; an Update with secret.Keep first copies that row, sealed blob
// unchanged, into secret_versions (primary key (id, version)), then
// compare-and-sets the new version, then deletes the past versions the
// retention drops, all in one transaction (a group commit's savepoint in
// SQLite), so a failed update keeps and prunes nothing. The old blob stays
// valid because the seal's additional data has always bound the id and the
// version it was made for. A copy that a concurrent update already made is
// skipped (ON CONFLICT DO NOTHING; ON DUPLICATE KEY UPDATE in MySQL), so the
// loser of the race fails its compare-and-set as before. A deleted secret
// (in the recovery window) has deleted and purge_after set and holds no
// name: the uniqueness indexes cover only rows with deleted NULL (in MySQL
// the generated columns are NULL for deleted rows). Listings filter on
// deleted as they walk the sort index; deleted listings and Expired read
// the index secrets_deleted, which holds only the (few) deleted rows
// (SQLite and PostgreSQL: a partial index; MySQL: live rows are NULL in it).
// Delete (the purge) removes the row and its past versions in one
// transaction. The change record (secret.Change) is JSON text in "change";
// rows from before 0004 hold the empty string there, an empty change.
//
// Store also implements identity.TokenStore in the same database, so that a
// server with a SQL store needs no second place for API tokens.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

func init() {
	backend.Register("sqlite", func(ctx context.Context, u *url.URL, opts backend.Options) (backend.Backend, error) {
		return openURL(ctx, u, opts)
	})
	backend.Register("postgres", func(ctx context.Context, u *url.URL, opts backend.Options) (backend.Backend, error) {
		return openURL(ctx, u, opts)
	})
	backend.Register("mysql", func(ctx context.Context, u *url.URL, opts backend.Options) (backend.Backend, error) {
		return openURL(ctx, u, opts)
	})
}

// Store is the SQL backend.Backend and identity.TokenStore. All methods are
// safe for concurrent use, also by several processes sharing the database.
type Store struct {
	d       *dialect
	writeDB *sql.DB // the connection(s) that write; one for SQLite
	readDB  *sql.DB // the connections that read; the same pool for PostgreSQL
	w, r    conn    // writeDB and readDB with their statement caches
	sealer  *envelope.Sealer
	stmt    statements
	group   *groupCommitter // SQLite: concurrent writes share commits
	// syncFull: SQLite runs synchronous=FULL (the default).
	syncFull bool

	// The audit chain's connections: SQLite keeps it in a file of its own
	// (auditWriteDB, auditReadDB, written by auditWriter); PostgreSQL and
	// MySQL in the store's database (aw, ar are w, r).
	auditWriteDB, auditReadDB *sql.DB
	aw, ar                    conn
	auditWriter               *sqliteAuditWriter
}

var (
	_ backend.Backend     = (*Store)(nil)
	_ backend.Modifier    = (*Store)(nil)
	_ identity.TokenStore = (*Store)(nil)
)

// Open opens (and creates or migrates) the store that rawURL names, a
// sqlite:, postgres: or mysql: URL as the package documentation describes. Errors:
// invalid_argument for a bad URL, a missing Sealer or an unknown parameter;
// unavailable when the database cannot be reached; internal otherwise.
func Open(ctx context.Context, rawURL string, opts backend.Options) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "store URL must look like sqlite:///path/to/lockwell.db or postgres://host:port/db")
	}
	if u.User != nil {
		return nil, errcode.New(errcode.InvalidArgument, "store URL must not contain credentials; they come from the environment")
	}
	return openURL(ctx, u, opts)
}

func openURL(ctx context.Context, u *url.URL, opts backend.Options) (*Store, error) {
	if opts.Sealer == nil {
		return nil, errcode.New(errcode.InvalidArgument, "the %s store encrypts values and needs a Sealer (a store key); none was given", u.Scheme)
	}
	var s *Store
	var err error
	switch u.Scheme {
	case "sqlite":
		s, err = openSQLite(ctx, u)
	case "postgres":
		s, err = openPostgres(ctx, u)
	case "mysql":
		s, err = openMySQL(ctx, u)
	default:
		return nil, errcode.New(errcode.InvalidArgument, "sqlstore serves sqlite:, postgres: and mysql: URLs, not %q", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	s.sealer = opts.Sealer
	s.stmt = s.d.statements()
	s.w, s.r = conn{db: s.writeDB}, conn{db: s.readDB}
	if s.d.cacheStatements {
		s.w.cache, s.r.cache = newStmtCache(s.writeDB), newStmtCache(s.readDB)
	}
	if err := migrate(ctx, s.writeDB, s.d); err != nil {
		s.Close()
		return nil, err
	}
	if s.d.groupCommit {
		s.group = newGroupCommitter(s.writeDB, s.w.cache)
	}
	s.aw, s.ar = s.w, s.r
	if s.auditWriteDB != nil {
		s.aw, s.ar = conn{db: s.auditWriteDB, cache: newStmtCache(s.auditWriteDB)}, conn{db: s.auditReadDB, cache: newStmtCache(s.auditReadDB)}
		if err := s.openSQLiteAudit(ctx); err != nil {
			s.Close()
			return nil, err
		}
		s.auditWriter = &sqliteAuditWriter{c: s.aw, full: s.syncFull}
	}
	return s, nil
}

// write runs fn, the statements of one write, atomically: in a group
// commit (SQLite), on the pool when it is a single statement, else in a
// transaction of its own.
func (s *Store) write(ctx context.Context, single bool, fn func(x execer) error) error {
	switch {
	case s.group != nil:
		return s.group.do(ctx, fn)
	case single:
		return fn(s.w)
	default:
		return s.w.inTx(ctx, func(tx txConn) error { return fn(tx) })
	}
}

// writeAudit is write for the audit chain. On SQLite, a relaxed write
// need not wait for an fsync of its own (sqliteAuditWriter).
func (s *Store) writeAudit(ctx context.Context, single, relaxed bool, fn func(x execer) error) error {
	if s.auditWriter != nil {
		return s.auditWriter.write(ctx, relaxed, fn)
	}
	return s.write(ctx, single, fn)
}

// Close closes the database connections.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	for _, c := range []conn{s.w, s.r, s.aw, s.ar} {
		if c.cache != nil {
			c.cache.close()
		}
	}
	var err error
	closed := map[*sql.DB]bool{nil: true} // PostgreSQL and MySQL read on the writing pool
	for _, db := range []*sql.DB{s.writeDB, s.readDB, s.auditWriteDB, s.auditReadDB} {
		if closed[db] {
			continue
		}
		closed[db] = true
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// statements are the fixed statements, written with ? and rebound to the
// dialect's placeholders once.
type statements struct {
	insert, get, getMetadata  string
	update, version           string
	delete, deleteVersion     string
	saveToken, tokenPrincipal string
	listTokens, revokeToken   string
	getLocked                 string
	pruneRecords, saveRecord  string
	getRecord                 string
	// History: keepVersion copies the current row into secret_versions;
	// pruneVersions and pruneVersionsSince delete the past versions a
	// retention does not keep; purgeVersions deletes them all.
	keepVersion, purgeVersions        string
	pruneVersions, pruneVersionsSince string
	versions, getVersion, expired     string
}

// listColumns are what List reads (no change record, no sealed values);
// "keys" and "change" are quoted, reserved words in MySQL.
const listColumns = `id, name, private, owner, "keys", values_ref, version, created, updated, origin, change_key, deleted, purge_after`

// secretColumns are the metadata columns of a version, as secrets and
// secret_versions both hold them.
const secretColumns = listColumns + `, "change"`

func (d *dialect) statements() statements {
	return statements{
		insert:      d.rebind(`INSERT INTO secrets (` + secretColumns + `, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		get:         d.rebind(`SELECT ` + secretColumns + `, sealed FROM secrets WHERE id = ?`),
		getMetadata: d.rebind(`SELECT ` + secretColumns + ` FROM secrets WHERE id = ?`),
		update: d.rebind(`UPDATE secrets SET name = ?, private = ?, "keys" = ?, values_ref = ?, version = ?, updated = ?,
			origin = ?, change_key = ?, deleted = ?, purge_after = ?, "change" = ?, sealed = ? WHERE id = ? AND version = ?`),
		version:        d.rebind(`SELECT version FROM secrets WHERE id = ?`),
		delete:         d.rebind(`DELETE FROM secrets WHERE id = ?`),
		deleteVersion:  d.rebind(`DELETE FROM secrets WHERE id = ? AND version = ?`),
		saveToken:      d.rebind(`INSERT INTO tokens (hash, id, principal, role, created) VALUES (?, ?, ?, ?, ?)`),
		tokenPrincipal: d.rebind(`SELECT hash, principal, role FROM tokens WHERE hash = ?`),
		listTokens:     `SELECT id, principal, role, created FROM tokens ORDER BY created, id`,
		revokeToken:    d.rebind(`DELETE FROM tokens WHERE id = ?`),
		getLocked:      d.rebind(`SELECT ` + secretColumns + `, sealed FROM secrets WHERE id = ?` + d.lockRow),
		pruneRecords:   d.rebind(`DELETE FROM idempotency WHERE expires <= ?`),
		// "key" is quoted: a reserved word in MySQL.
		saveRecord: d.rebind(`INSERT INTO idempotency ("key", request, operation, result, created, expires) VALUES (?, ?, ?, ?, ?, ?)`),
		getRecord:  d.rebind(`SELECT request, operation, result, created, expires FROM idempotency WHERE "key" = ? AND expires > ?`),
		// The copy of a version that a concurrent update kept already is
		// skipped rather than a duplicate-key error: that update moved the
		// version on, so this one fails its compare-and-set instead.
		keepVersion: d.rebind(`INSERT INTO secret_versions (` + secretColumns + `, sealed)
			SELECT ` + secretColumns + `, sealed FROM secrets WHERE id = ? AND version = ?` + d.ignoreDuplicate),
		pruneVersions:      d.rebind(`DELETE FROM secret_versions WHERE id = ? AND version <= ?`),
		pruneVersionsSince: d.rebind(`DELETE FROM secret_versions WHERE id = ? AND (version <= ? OR updated < ?)`),
		purgeVersions:      d.rebind(`DELETE FROM secret_versions WHERE id = ?`),
		// One statement, so one snapshot of both tables.
		versions: d.rebind(`SELECT ` + secretColumns + ` FROM secrets WHERE id = ?
			UNION ALL SELECT ` + secretColumns + ` FROM secret_versions WHERE id = ? ORDER BY version DESC`),
		getVersion: d.rebind(`SELECT ` + secretColumns + `, sealed FROM secrets WHERE id = ? AND version = ?
			UNION ALL SELECT ` + secretColumns + `, sealed FROM secret_versions WHERE id = ? AND version = ?`),
		// The deleted rows are few (secrets_deleted holds only them); a
		// deleted secret without a purge time is expired at once, as a
		// zero PurgeAfter is before any time.
		expired: d.rebind(`SELECT ` + secretColumns + ` FROM secrets
			WHERE deleted IS NOT NULL AND (purge_after IS NULL OR purge_after < ?) LIMIT ?`),
	}
}

// seal seals the values of s for its id and version, or returns nil (stored
// as NULL) when s carries no values.
func (s *Store) seal(ctx context.Context, sec *secret.Secret) (any, error) {
	if sec.Values == nil {
		return nil, nil
	}
	blob, err := s.sealer.Seal(ctx, sec.Values, sec.ID, sec.Version)
	if err != nil {
		return nil, err
	}
	return blob, nil
}

// encodeChange encodes a version's change record as JSON (key names only).
func encodeChange(c secret.Change) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", errcode.Wrap(errcode.Internal, err, "encode change record")
	}
	return string(b), nil
}

// decodeChange decodes what encodeChange wrote; ” (rows from before
// versions were kept) is the empty change.
func decodeChange(s string) (secret.Change, error) {
	var c secret.Change
	if s == "" {
		return c, nil
	}
	err := json.Unmarshal([]byte(s), &c)
	return c, err
}

func encodeKeys(keys []string) (string, error) {
	if keys == nil {
		keys = []string{}
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return "", errcode.Wrap(errcode.Internal, err, "encode key names")
	}
	return string(b), nil
}

// Create implements backend.Backend. With an idempotency record, the record
// and the secret are inserted in one transaction. Errors: already_exists,
// unavailable, internal.
func (s *Store) Create(ctx context.Context, sec *secret.Secret) error {
	sealed, err := s.seal(ctx, sec)
	if err != nil {
		return err
	}
	keys, err := encodeKeys(sec.Keys)
	if err != nil {
		return err
	}
	change, err := encodeChange(sec.Change)
	if err != nil {
		return err
	}
	insert := func(x execer) error {
		_, err := x.exec(ctx, s.stmt.insert,
			sec.ID, sec.Name, sec.Private, sec.Owner, keys, sec.ValuesRef, sec.Version,
			s.d.timeArg(sec.Created), s.d.timeArg(sec.Updated), sec.Origin, sec.ChangeKey,
			s.d.nullTime(sec.Deleted), s.d.nullTime(sec.PurgeAfter), change, sealed)
		if err != nil {
			return nameClash(classify(err, "create secret"), sec.Name)
		}
		return nil
	}
	return s.write(ctx, sec.Idempotency == nil, func(x execer) error {
		if sec.Idempotency != nil {
			if err := s.saveRecord(ctx, x, sec.Idempotency); err != nil {
				return err
			}
		}
		return insert(x)
	})
}

// saveRecord inserts an idempotency record in the transaction of its write,
// after deleting the expired ones (among them an expired record under the
// same key). Errors: already_exists wrapping backend.ErrIdempotencyKeyUsed
// when an unexpired record has the key; unavailable, internal.
func (s *Store) saveRecord(ctx context.Context, tx execer, r *secret.Idempotency) error {
	result, err := json.Marshal(r.Result.Metadata())
	if err != nil {
		return errcode.Wrap(errcode.Internal, err, "encode idempotency record")
	}
	if _, err := tx.exec(ctx, s.stmt.pruneRecords, s.d.timeArg(secret.Now())); err != nil {
		return classify(err, "delete expired idempotency records")
	}
	_, err = tx.exec(ctx, s.stmt.saveRecord, r.Key, r.Request, r.Operation, string(result),
		s.d.timeArg(r.Created), s.d.timeArg(r.Expires))
	if err != nil {
		err = classify(err, "save idempotency record")
		if errcode.Is(err, errcode.AlreadyExists) {
			return errcode.Wrap(errcode.AlreadyExists, backend.ErrIdempotencyKeyUsed, "idempotency key already used")
		}
		return err
	}
	return nil
}

// Idempotency implements backend.Backend: one query by key. Errors:
// not_found, unavailable, internal.
func (s *Store) Idempotency(ctx context.Context, key string) (*secret.Idempotency, error) {
	r := secret.Idempotency{Key: key}
	var result string
	err := s.r.queryRow(ctx, s.stmt.getRecord, key, s.d.timeArg(secret.Now())).
		Scan(&r.Request, &r.Operation, &result, timeColumn{&r.Created}, timeColumn{&r.Expires})
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "no idempotency record")
	}
	if err != nil {
		return nil, classify(err, "read idempotency record")
	}
	r.Result = &secret.Secret{}
	if err := json.Unmarshal([]byte(result), r.Result); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "stored idempotency record does not decode")
	}
	return &r, nil
}

// nameClash gives an already_exists error the message the API shows.
func nameClash(err error, name string) error {
	if errcode.Of(err) == errcode.AlreadyExists {
		return errcode.Wrap(errcode.AlreadyExists, err, "a secret named %q already exists", name)
	}
	return err
}

// row scans listColumns, optionally the change record (secretColumns) and
// optionally sealed from one row.
type row struct {
	sec    secret.Secret
	keys   string
	change *string // nil: not read
	sealed []byte
}

// dest returns the scan destinations of listColumns, then of "change" when
// withChange, then of sealed when withSealed.
func (r *row) dest(withChange, withSealed bool) []any {
	d := []any{&r.sec.ID, &r.sec.Name, &r.sec.Private, &r.sec.Owner, &r.keys, &r.sec.ValuesRef, &r.sec.Version,
		timeColumn{&r.sec.Created}, timeColumn{&r.sec.Updated}, &r.sec.Origin, &r.sec.ChangeKey,
		nullTimeColumn{&r.sec.Deleted}, nullTimeColumn{&r.sec.PurgeAfter}}
	if withChange {
		r.change = new(string)
		d = append(d, r.change)
	}
	if withSealed {
		d = append(d, &r.sealed)
	}
	return d
}

func (r *row) secret() (*secret.Secret, error) {
	sec := r.sec
	keys, err := decodeKeys(r.keys)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "stored key names of secret %s do not decode", sec.ID)
	}
	sec.Keys = keys
	if r.change != nil {
		if sec.Change, err = decodeChange(*r.change); err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "stored change record of secret %s version %d does not decode", sec.ID, sec.Version)
		}
	}
	return &sec, nil
}

// open opens the row's sealed values for its id and version (the seal's
// additional data), when it has any.
func (r *row) open(ctx context.Context, sealer *envelope.Sealer, sec *secret.Secret) error {
	if r.sealed == nil {
		return nil
	}
	var err error
	sec.Values, err = sealer.Open(ctx, r.sealed, sec.ID, sec.Version)
	return err
}

// decodeKeys decodes the JSON array encodeKeys wrote (or PostgreSQL's jsonb
// rendering of it, with a space after each comma). Valid key names never
// need escaping (letters, digits, _ . -), so the common case is split
// without the JSON decoder, which dominated the cost of listing; anything
// else goes to the decoder.
func decodeKeys(s string) ([]string, error) {
	if s == "[]" {
		return []string{}, nil
	}
	if len(s) >= 4 && s[0] == '[' && s[len(s)-1] == ']' && !strings.Contains(s, `\`) {
		inner := s[1 : len(s)-1]
		n := strings.Count(inner, ",") + 1
		keys := make([]string, 0, n)
		for part := range strings.SplitSeq(inner, ",") {
			part = strings.TrimLeft(part, " ") // PostgreSQL's jsonb prints ", "
			if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' || strings.Contains(part[1:len(part)-1], `"`) {
				keys = nil
				break
			}
			keys = append(keys, part[1:len(part)-1])
		}
		if keys != nil {
			return keys, nil
		}
	}
	keys := []string{}
	if err := json.Unmarshal([]byte(s), &keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// timeColumn scans a time stored as microseconds since the epoch (SQLite) or
// as a timestamp (PostgreSQL) into a UTC time.Time.
type timeColumn struct{ t *time.Time }

func (c timeColumn) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("unexpected time column type %T", src)
	}
	return nil
}

// nullTimeColumn is a timeColumn that may be NULL (the zero time).
type nullTimeColumn struct{ t *time.Time }

func (c nullTimeColumn) Scan(src any) error {
	if src == nil {
		*c.t = time.Time{}
		return nil
	}
	return timeColumn(c).Scan(src)
}

// Get implements backend.Backend. Errors: not_found, unavailable, internal
// (also when the stored values fail authentication).
func (s *Store) Get(ctx context.Context, id string) (*secret.Secret, error) {
	var r row
	err := s.r.queryRow(ctx, s.stmt.get, id).Scan(r.dest(true, true)...)
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	if err != nil {
		return nil, classify(err, "get secret")
	}
	sec, err := r.secret()
	if err != nil {
		return nil, err
	}
	if err := r.open(ctx, s.sealer, sec); err != nil {
		return nil, err
	}
	return sec, nil
}

// GetMetadata implements backend.MetadataGetter: the row without its sealed
// values, so nothing is decrypted. Errors: not_found, unavailable, internal.
func (s *Store) GetMetadata(ctx context.Context, id string) (*secret.Secret, error) {
	var r row
	err := s.r.queryRow(ctx, s.stmt.getMetadata, id).Scan(r.dest(true, false)...)
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	if err != nil {
		return nil, classify(err, "get secret")
	}
	return r.secret()
}

// Update implements backend.Backend: a compare-and-set on the version, in
// one transaction with its idempotency record when there is one and with
// the history it keeps (see update). Errors: not_found,
// failed_precondition, already_exists, unavailable, internal.
func (s *Store) Update(ctx context.Context, sec *secret.Secret, expectedVersion int64) error {
	sealed, err := s.seal(ctx, sec)
	if err != nil {
		return err
	}
	return s.write(ctx, sec.Idempotency == nil && sec.Keep == nil, func(x execer) error {
		if sec.Idempotency != nil {
			if err := s.saveRecord(ctx, x, sec.Idempotency); err != nil {
				return err
			}
		}
		return s.update(ctx, x, sec, sealed, expectedVersion)
	})
}

// update runs the statements of an update in x, a transaction when sec.Keep
// is set: the copy of the replaced row into secret_versions (its sealed
// blob as it is: the seal's additional data binds id and version, so it
// still opens as that version), the compare-and-set, then the pruning of
// the past versions sec.Keep does not keep. A failed compare-and-set fails
// the transaction, copy included.
func (s *Store) update(ctx context.Context, x execer, sec *secret.Secret, sealed any, expectedVersion int64) error {
	keys, err := encodeKeys(sec.Keys)
	if err != nil {
		return err
	}
	change, err := encodeChange(sec.Change)
	if err != nil {
		return err
	}
	if sec.Keep != nil && sec.Keep.Versions > 1 {
		if _, err := x.exec(ctx, s.stmt.keepVersion, sec.ID, expectedVersion); err != nil {
			return classify(err, "keep past version")
		}
	}
	res, err := x.exec(ctx, s.stmt.update,
		sec.Name, sec.Private, keys, sec.ValuesRef, sec.Version, s.d.timeArg(sec.Updated),
		sec.Origin, sec.ChangeKey, s.d.nullTime(sec.Deleted), s.d.nullTime(sec.PurgeAfter), change,
		sealed, sec.ID, expectedVersion)
	if err != nil {
		return nameClash(classify(err, "update secret"), sec.Name)
	}
	if err := s.checkChanged(ctx, x, res, sec.ID, expectedVersion); err != nil {
		return err
	}
	if sec.Keep == nil {
		return nil
	}
	// secret.Retention.Keeps, as one DELETE: past versions at least
	// Keep.Versions behind the new one, or made before Keep.Since. A young
	// secret has none to prune by count (versions start at 1).
	below := sec.Version - int64(max(sec.Keep.Versions, 0))
	if below < 1 && sec.Keep.Since.IsZero() {
		return nil
	}
	if sec.Keep.Since.IsZero() {
		_, err = x.exec(ctx, s.stmt.pruneVersions, sec.ID, below)
	} else {
		_, err = x.exec(ctx, s.stmt.pruneVersionsSince, sec.ID, below, s.d.timeArg(sec.Keep.Since))
	}
	if err != nil {
		return classify(err, "prune past versions")
	}
	return nil
}

// Modify implements backend.Modifier: the read, change and write run in one
// transaction that holds the secret's row lock (PostgreSQL's and MySQL's
// SELECT ... FOR UPDATE) or the database's write lock (SQLite's BEGIN IMMEDIATE) from the
// read on, so concurrent changes of one secret queue instead of racing.
// Values are opened and sealed inside the transaction. Errors: those of
// change, not_found, already_exists, unavailable, internal.
func (s *Store) Modify(ctx context.Context, id string, change func(*secret.Secret) (*secret.Secret, error)) error {
	return s.write(ctx, false, func(tx execer) error {
		var r row
		err := tx.queryRow(ctx, s.stmt.getLocked, id).Scan(r.dest(true, true)...)
		if err == sql.ErrNoRows {
			return errcode.New(errcode.NotFound, "secret %s not found", id)
		}
		if err != nil {
			return classify(err, "get secret")
		}
		current, err := r.secret()
		if err != nil {
			return err
		}
		if err := r.open(ctx, s.sealer, current); err != nil {
			return err
		}
		next, err := change(current)
		if err != nil {
			return err
		}
		sealed, err := s.seal(ctx, next)
		if err != nil {
			return err
		}
		if next.Idempotency != nil {
			if err := s.saveRecord(ctx, tx, next.Idempotency); err != nil {
				return err
			}
		}
		return s.update(ctx, tx, next, sealed, current.Version)
	})
}

// checkChanged turns "no row changed" into not_found or failed_precondition.
func (s *Store) checkChanged(ctx context.Context, x execer, res sql.Result, id string, expectedVersion int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return classify(err, "count changed rows")
	}
	if n == 1 {
		return nil
	}
	var stored int64
	err = x.queryRow(ctx, s.stmt.version, id).Scan(&stored)
	if err == sql.ErrNoRows {
		return errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	if err != nil {
		return classify(err, "read secret version")
	}
	return errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", id, stored, expectedVersion)
}

// Delete implements backend.Backend: the secret and its past versions in
// one transaction. Errors: not_found, failed_precondition, unavailable,
// internal.
func (s *Store) Delete(ctx context.Context, id string, expectedVersion int64) error {
	query, args := s.stmt.delete, []any{id}
	if expectedVersion != 0 {
		query, args = s.stmt.deleteVersion, []any{id, expectedVersion}
	}
	return s.write(ctx, false, func(x execer) error {
		res, err := x.exec(ctx, query, args...)
		if err != nil {
			return classify(err, "delete secret")
		}
		if err := s.checkChanged(ctx, x, res, id, expectedVersion); err != nil {
			return err
		}
		if _, err := x.exec(ctx, s.stmt.purgeVersions, id); err != nil {
			return classify(err, "delete past versions")
		}
		return nil
	})
}

// Versions implements backend.Backend: the current row and the past ones in
// one query, newest first. Errors: not_found, unavailable, internal.
func (s *Store) Versions(ctx context.Context, id string) ([]*secret.Secret, error) {
	rows, err := s.r.query(ctx, s.stmt.versions, id, id)
	if err != nil {
		return nil, classify(err, "list versions")
	}
	defer rows.Close()
	var out []*secret.Secret
	for rows.Next() {
		var r row
		if err := rows.Scan(r.dest(true, false)...); err != nil {
			return nil, classify(err, "list versions")
		}
		sec, err := r.secret()
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "list versions")
	}
	if len(out) == 0 {
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	return out, nil
}

// GetVersion implements backend.Backend: the version from secrets (the
// current one) or secret_versions, its values opened for its id and
// version as Get opens them. Errors: not_found, unavailable, internal.
func (s *Store) GetVersion(ctx context.Context, id string, version int64) (*secret.Secret, error) {
	var r row
	err := s.r.queryRow(ctx, s.stmt.getVersion, id, version, id, version).Scan(r.dest(true, true)...)
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "secret %s has no version %d", id, version)
	}
	if err != nil {
		return nil, classify(err, "get version")
	}
	sec, err := r.secret()
	if err != nil {
		return nil, err
	}
	if err := r.open(ctx, s.sealer, sec); err != nil {
		return nil, err
	}
	return sec, nil
}

// Expired implements backend.Backend: one query on the index of deleted
// rows. Errors: invalid_argument for a limit below 1, unavailable,
// internal.
func (s *Store) Expired(ctx context.Context, t time.Time, limit int) ([]*secret.Secret, error) {
	if limit < 1 {
		return nil, errcode.New(errcode.InvalidArgument, "expired limit must be at least 1, got %d", limit)
	}
	rows, err := s.r.query(ctx, s.stmt.expired, s.d.timeArg(t), limit)
	if err != nil {
		return nil, classify(err, "list expired secrets")
	}
	defer rows.Close()
	out := []*secret.Secret{}
	for rows.Next() {
		var r row
		if err := rows.Scan(r.dest(true, false)...); err != nil {
			return nil, classify(err, "list expired secrets")
		}
		sec, err := r.secret()
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "list expired secrets")
	}
	return out, nil
}

// List implements backend.Backend: one keyset query on the index of the sort
// field, so a deep page costs what the first one does. It never reads the
// sealed values nor the change record (Change is zero in every item); the
// deleted filter (deleted IS NULL, or IS NOT NULL with q.Deleted) is checked
// on the rows the sort index yields, or, for deleted ones, found through
// the index of deleted rows. Errors: invalid_argument for a bad query, unavailable,
// internal.
func (s *Store) List(ctx context.Context, q backend.Query) ([]*secret.Secret, error) {
	query, args, err := s.d.listQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.query(ctx, query, args...)
	if err != nil {
		return nil, classify(err, "list secrets")
	}
	defer rows.Close()
	out := make([]*secret.Secret, 0, min(q.Limit, 64))
	for rows.Next() {
		var r row
		if err := rows.Scan(r.dest(false, false)...); err != nil {
			return nil, classify(err, "list secrets")
		}
		sec, err := r.secret()
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "list secrets")
	}
	return out, nil
}

// listQuery builds the SELECT for q. Filters are literal and case-sensitive;
// a name prefix is also turned into a range on the name index.
func (d *dialect) listQuery(q backend.Query) (string, []any, error) {
	if q.Viewer == "" {
		return "", nil, errcode.New(errcode.InvalidArgument, "list needs the viewing principal")
	}
	if q.Limit < 1 {
		return "", nil, errcode.New(errcode.InvalidArgument, "list limit must be at least 1, got %d", q.Limit)
	}
	var col string
	switch q.Sort.Field {
	case backend.ByName, "":
		col = "name"
	case backend.ByCreated:
		col = "created"
	case backend.ByUpdated:
		col = "updated"
	default:
		return "", nil, errcode.New(errcode.InvalidArgument, "cannot sort by %q", q.Sort.Field)
	}
	var b strings.Builder
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		if d.numbered {
			return "$" + strconv.Itoa(len(args))
		}
		return "?"
	}
	b.WriteString("SELECT " + listColumns + " FROM secrets WHERE (private = FALSE OR owner = " + arg(q.Viewer) + ")")
	if q.Deleted {
		b.WriteString(" AND deleted IS NOT NULL")
	} else {
		b.WriteString(" AND deleted IS NULL")
	}
	if q.Name != "" {
		b.WriteString(" AND name = " + arg(q.Name))
	}
	if q.NamePrefix != "" {
		b.WriteString(" AND name >= " + arg(q.NamePrefix))
		if upper, ok := prefixUpperBound(q.NamePrefix); ok {
			b.WriteString(" AND name < " + arg(upper))
		}
		b.WriteString(" AND " + d.hasPrefix("name", arg(q.NamePrefix)))
	}
	if q.NameContains != "" {
		b.WriteString(" AND " + d.contains("name", arg(q.NameContains)))
	}
	if q.Private != nil {
		b.WriteString(" AND private = " + arg(*q.Private))
	}
	if q.Owner != "" {
		b.WriteString(" AND owner = " + arg(q.Owner))
	}
	dir, cmp := "ASC", ">"
	if q.Sort.Desc {
		dir, cmp = "DESC", "<"
	}
	if q.After != nil {
		var v any = q.After.Name
		if col != "name" {
			v = d.timeArg(q.After.Time)
		}
		if d.keysetRange {
			b.WriteString(" AND " + col + " " + cmp + "= " + arg(v))
		}
		b.WriteString(" AND (" + col + ", id) " + cmp + " (" + arg(v) + ", " + arg(q.After.ID) + ")")
	}
	b.WriteString(" ORDER BY " + col + " " + dir + ", id " + dir + " LIMIT " + arg(q.Limit))
	return b.String(), args, nil
}

// prefixUpperBound returns the least string greater than every string that
// starts with p, when p ends in an ASCII character that can be incremented
// (names are ASCII). Otherwise the prefix check alone filters.
func prefixUpperBound(p string) (string, bool) {
	last := p[len(p)-1]
	if last >= 0x7e {
		return "", false
	}
	return p[:len(p)-1] + string(rune(last+1)), true
}

// SaveToken implements identity.TokenStore. Errors: invalid_argument for a
// hash that is not 32 bytes or a bad principal; already_exists for a hash
// (or, with odds of about n²/2⁶⁵ for n tokens, a token id) already stored;
// unavailable, internal.
func (s *Store) SaveToken(ctx context.Context, hash []byte, p identity.Principal) error {
	if len(hash) != 32 {
		return errcode.New(errcode.InvalidArgument, "token hash must be 32 bytes, got %d", len(hash))
	}
	if err := identity.ValidateName(p.Name); err != nil {
		return err
	}
	if _, err := identity.ParseRole(string(p.Role)); err != nil {
		return err
	}
	err := s.write(ctx, true, func(x execer) error {
		_, err := x.exec(ctx, s.stmt.saveToken, hash, identity.TokenID(hash), p.Name, string(p.Role), s.d.timeArg(secret.Now()))
		return err
	})
	if err != nil {
		err = classify(err, "save token")
		if errcode.Of(err) == errcode.AlreadyExists {
			return errcode.Wrap(errcode.AlreadyExists, err, "a token with this hash already exists")
		}
		return err
	}
	return nil
}

// TokenPrincipal implements identity.TokenStore: it looks the token up by
// hash and compares the stored hash in constant time. Errors:
// unauthenticated for an unknown token; unavailable, internal.
func (s *Store) TokenPrincipal(ctx context.Context, hash []byte) (identity.Principal, error) {
	var stored []byte
	var p identity.Principal
	var role string
	err := s.r.queryRow(ctx, s.stmt.tokenPrincipal, hash).Scan(&stored, &p.Name, &role)
	if err == sql.ErrNoRows || (err == nil && !identity.EqualHashes(stored, hash)) {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "unknown API token")
	}
	if err != nil {
		return identity.Principal{}, classify(err, "look up token")
	}
	r, err := identity.ParseRole(role)
	if err != nil {
		return identity.Principal{}, errcode.Wrap(errcode.Internal, err, "stored token has an unknown role")
	}
	p.Role = r
	return p, nil
}

// ListTokens implements identity.TokenStore: one query on the tokens table
// (an index on created, id gives the order). It never reads the hashes.
// Errors: unavailable, internal.
func (s *Store) ListTokens(ctx context.Context) ([]identity.TokenInfo, error) {
	rows, err := s.r.query(ctx, s.stmt.listTokens)
	if err != nil {
		return nil, classify(err, "list tokens")
	}
	defer rows.Close()
	out := []identity.TokenInfo{}
	for rows.Next() {
		var in identity.TokenInfo
		var role string
		if err := rows.Scan(&in.ID, &in.Principal.Name, &role, timeColumn{&in.Created}); err != nil {
			return nil, classify(err, "list tokens")
		}
		r, err := identity.ParseRole(role)
		if err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "stored token %s has an unknown role", in.ID)
		}
		in.Principal.Role = r
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "list tokens")
	}
	return out, nil
}

// RevokeToken implements identity.TokenStore: one DELETE by id, so of two
// concurrent revocations exactly one deletes the row. Errors:
// invalid_argument for a malformed id; not_found for an unknown one;
// unavailable, internal.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	if err := identity.ValidateTokenID(id); err != nil {
		return err
	}
	return s.write(ctx, true, func(x execer) error {
		res, err := x.exec(ctx, s.stmt.revokeToken, id)
		if err != nil {
			return classify(err, "revoke token")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return classify(err, "revoke token")
		}
		if n == 0 {
			return errcode.New(errcode.NotFound, "no token has id %s", id)
		}
		return nil
	})
}
