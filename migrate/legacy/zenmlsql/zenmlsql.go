// Package zenmlsql reads ZenML's centralized secrets store straight from
// the ZenML server's SQL database: the source zenml-sql://.
//
//	zenml-sql:///ABSOLUTE/PATH/zenml.db              SQLite (opened read-only)
//	zenml-sql://HOST[:PORT]/DATABASE[?tls=true|skip-verify|false]
//	                                                 MySQL or MariaDB
//
// MySQL credentials come from MYSQL_USER and MYSQL_PWD (or the file named by
// MYSQL_PWD_FILE), never from the URL. The values are decoded exactly as
// ZenML's SQL secrets store encodes them (zenml-io/zenml
// zen_stores/schemas/secret_schemas.py, SecretSchema._dump_secret_values and
// _load_secret_values, commit 46538c6; sql_secrets_store.py): the column
// secret.values holds json.dumps(values), base64-encoded when the server
// has no encryption key, or encrypted by sqlalchemy-utils' AesGcmEngine
// when it has one (ZENML_SECRETS_STORE_ENCRYPTION_KEY, read here from the
// same variable or the file named by ZENML_SECRETS_STORE_ENCRYPTION_KEY_FILE):
// AES-256-GCM with the key SHA-256(the key string as UTF-8), stored as
// base64(12-byte IV ‖ 16-byte tag ‖ ciphertext).
//
// Both schema generations are read: 0.80+ (secret.private) and 0.54 to 0.7x
// (secret.scope, where scope "user" is private). Every secret is listed,
// whoever owns it (a database reader sees them all), referenced by its id,
// with its visibility and its user's name from the user table. A secret
// whose values column is NULL keeps its values in an external secrets store
// (AWS, GCP, Azure, Vault): it is skipped with that reason. A value that
// does not decrypt or decode (a wrong or missing key) is invalid_argument,
// so the entry fails rather than being skipped. Delete always refuses: the
// migration leaves the ZenML database alone.
package zenmlsql

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

func init() {
	legacy.Register(legacy.Flavor{Name: "sql", Open: open, URLFromConfig: func(map[string]any, string) (string, error) {
		return "", errcode.New(errcode.InvalidArgument, "a ZenML database is not a stack component; use --source zenml-sql://")
	}})
}

// The AesGcmEngine layout.
const (
	ivBytes  = 12
	tagBytes = 16
)

func open(ctx context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if u.User != nil {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-sql URLs never hold credentials; set MYSQL_USER and MYSQL_PWD (or MYSQL_PWD_FILE)")
	}
	key, err := legacy.EnvOrFile("ZENML_SECRETS_STORE_ENCRYPTION_KEY")
	if err != nil {
		return nil, err
	}
	s := &source{d: d}
	if key != "" {
		sum := sha256.Sum256([]byte(key))
		block, _ := aes.NewCipher(sum[:])
		s.gcm, _ = cipher.NewGCMWithTagSize(block, tagBytes)
	}
	if u.Host == "" {
		err = s.openSQLite(u)
	} else {
		err = s.openMySQL(u)
	}
	if err != nil {
		return nil, err
	}
	if err := s.detectSchema(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func (s *source) openSQLite(u *url.URL) error {
	if err := openurl.CheckParams(u); err != nil {
		return err
	}
	if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return errcode.New(errcode.InvalidArgument, "zenml-sql SQLite URL must be zenml-sql:///ABSOLUTE/PATH/zenml.db")
	}
	if _, err := os.Stat(u.Path); err != nil {
		return errcode.New(errcode.InvalidArgument, "ZenML database %s does not exist or cannot be read", u.Path)
	}
	db, err := sql.Open("sqlite", "file:"+u.Path+"?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		return errcode.New(errcode.InvalidArgument, "cannot open ZenML database %s", u.Path)
	}
	s.db, s.d.Location = db, u.Path
	return nil
}

func (s *source) openMySQL(u *url.URL) error {
	if err := openurl.CheckParams(u, "tls"); err != nil {
		return err
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	if dbName == "" || strings.Contains(dbName, "/") {
		return errcode.New(errcode.InvalidArgument, "zenml-sql MySQL URL must be zenml-sql://HOST[:PORT]/DATABASE")
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, dbName
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	cfg.User = os.Getenv("MYSQL_USER")
	pwd, err := legacy.EnvOrFile("MYSQL_PWD")
	if err != nil {
		return err
	}
	if cfg.User == "" {
		return errcode.New(errcode.InvalidArgument, "set MYSQL_USER (and MYSQL_PWD or MYSQL_PWD_FILE) for the ZenML database")
	}
	cfg.Passwd = pwd
	switch tls := u.Query().Get("tls"); tls {
	case "", "true":
		cfg.TLSConfig = "true"
	case "skip-verify", "false":
		cfg.TLSConfig = tls
	default:
		return errcode.New(errcode.InvalidArgument, "tls must be true, skip-verify or false")
	}
	cfg.Timeout, cfg.ReadTimeout = 10*time.Second, time.Minute
	cfg.ParseTime = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return errcode.New(errcode.InvalidArgument, "bad MySQL settings for the ZenML database")
	}
	s.db, s.d.Location = sql.OpenDB(connector), cfg.Addr+"/"+dbName
	return nil
}

type source struct {
	d       legacy.Descriptor
	db      *sql.DB
	gcm     cipher.AEAD // nil: the server had no encryption key
	private string      // the SQL expression for "is private" of this schema generation
}

// detectSchema finds which generation of the secret table this is.
func (s *source) detectSchema(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM secret WHERE 1 = 0")
	if err != nil {
		return dbError(err, "the ZenML database has no secret table (is this ZenML's database?)")
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return dbError(err, "cannot read the secret table's columns")
	}
	has := map[string]bool{}
	for _, c := range cols {
		has[strings.ToLower(c)] = true
	}
	switch {
	case has["private"]:
		s.private = "s.private"
	case has["scope"]:
		s.private = "CASE WHEN LOWER(s.scope) = 'user' THEN 1 ELSE 0 END"
	default:
		return errcode.New(errcode.InvalidArgument, "the ZenML secret table has neither private nor scope: a ZenML version this reader does not know")
	}
	return nil
}

// dbError classifies a database error without its text (which may quote
// a DSN): unavailable for connection trouble, else invalid_argument.
func dbError(err error, msg string) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if me.Number == 1045 || me.Number == 1044 {
			return errcode.New(errcode.Unauthenticated, "the ZenML database refused MYSQL_USER/MYSQL_PWD")
		}
		return errcode.New(errcode.InvalidArgument, "%s (MySQL error %d)", msg, me.Number)
	}
	if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "no such column") {
		return errcode.New(errcode.InvalidArgument, "%s", msg)
	}
	return errcode.New(errcode.Unavailable, "%s: the database is unreachable or failed", msg)
}

// Describe implements legacy.Source.
func (s *source) Describe() legacy.Descriptor { return s.d }

// Close implements legacy.Source.
func (s *source) Close() error { return s.db.Close() }

// Delete implements legacy.Source: the migration never changes ZenML's
// database.
func (s *source) Delete(context.Context, string) error {
	return errcode.New(errcode.FailedPrecondition, "secrets in ZenML's database are not deleted by the migration")
}

func (s *source) query() string {
	return "SELECT s.id, s.name, " + s.private + ", s.user_id, COALESCE(u.name, ''), s.`values` IS NULL FROM secret s LEFT JOIN `user` u ON u.id = s.user_id"
}

// ExternalReason is the reason a secret whose values live outside the
// database is skipped.
const ExternalReason = "its values are in the ZenML server's external secrets store (AWS, GCP, Azure or Vault), not in the database: migrate it with zenml-server:// or that store's zenml-<flavor>:// source"

// List implements legacy.Source.
func (s *source) List(ctx context.Context) ([]legacy.Item, error) {
	rows, err := s.db.QueryContext(ctx, s.query())
	if err != nil {
		return nil, dbError(err, "cannot list ZenML's secrets")
	}
	defer rows.Close()
	var items []legacy.Item
	for rows.Next() {
		o, name, external, err := scanOwned(rows)
		if err != nil {
			return nil, err
		}
		it := legacy.Item{Name: name, Location: o.ID, Status: legacy.Migratable, Owned: o}
		if external {
			it.Status, it.Reason = legacy.Skipped, ExternalReason
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list ZenML's secrets")
	}
	legacy.SortItems(items)
	return items, nil
}

func scanOwned(rows interface{ Scan(...any) error }) (*legacy.Owned, string, bool, error) {
	var rawID, name, rawUser, userName string
	var private, external bool
	if err := rows.Scan(&rawID, &name, &private, &rawUser, &userName, &external); err != nil {
		return nil, "", false, dbError(err, "cannot read a ZenML secret row")
	}
	id, err := uuid.Parse(rawID)
	if err != nil {
		return nil, "", false, errcode.New(errcode.InvalidArgument, "ZenML secret %s has an id that is not a UUID", name)
	}
	o := &legacy.Owned{ID: id.String(), Private: private, UserID: rawUser, UserName: userName}
	if u, err := uuid.Parse(rawUser); err == nil {
		o.UserID = u.String()
	}
	return o, name, external, nil
}

// Read implements legacy.Source.
func (s *source) Read(ctx context.Context, ref string) (*legacy.Entry, error) {
	id, err := uuid.Parse(ref)
	if err != nil {
		return nil, errcode.New(errcode.NotFound, "ZenML secrets are referenced by id; %q is not one", ref)
	}
	hex := strings.ReplaceAll(id.String(), "-", "")
	row := s.db.QueryRowContext(ctx, "SELECT s.id, s.name, "+s.private+", s.user_id, COALESCE(u.name, ''), s.`values` IS NULL, s.`values` FROM secret s LEFT JOIN `user` u ON u.id = s.user_id WHERE s.id IN (?, ?)", hex, id.String())
	var rawID, name, rawUser, userName string
	var private, external bool
	var stored []byte
	err = row.Scan(&rawID, &name, &private, &rawUser, &userName, &external, &stored)
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "ZenML secret %s not found", id)
	}
	if err != nil {
		return nil, dbError(err, "cannot read ZenML secret "+id.String())
	}
	if external {
		return nil, errcode.New(errcode.FailedPrecondition, "%s", ExternalReason)
	}
	values, err := s.decode(stored)
	if err != nil {
		return nil, errcode.New(errcode.Of(err), "ZenML secret %s (%s): %s", name, id, errcode.Message(err))
	}
	o := &legacy.Owned{ID: id.String(), Private: private, UserID: rawUser, UserName: userName}
	if u, err := uuid.Parse(rawUser); err == nil {
		o.UserID = u.String()
	}
	return &legacy.Entry{Name: name, Values: values, Owned: o}, nil
}

// decode turns the values column back into the values, as
// SecretSchema._load_secret_values does. Errors are invalid_argument and
// never quote the stored text.
func (s *source) decode(stored []byte) (map[string]string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(stored)))
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "the stored values are not base64")
	}
	if s.gcm != nil {
		if len(raw) < ivBytes+tagBytes {
			return nil, errcode.New(errcode.InvalidArgument, "the stored values are too short to be AES-GCM encrypted")
		}
		iv, tag, ct := raw[:ivBytes], raw[ivBytes:ivBytes+tagBytes], raw[ivBytes+tagBytes:]
		plain, err := s.gcm.Open(nil, iv, append(append([]byte{}, ct...), tag...), nil)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "cannot decrypt the values: ZENML_SECRETS_STORE_ENCRYPTION_KEY is not the server's key")
		}
		raw = plain
	}
	var payload map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&payload); err != nil || payload == nil {
		if s.gcm == nil {
			return nil, errcode.New(errcode.InvalidArgument, "the values are not base64 JSON: the server probably encrypts them; set ZENML_SECRETS_STORE_ENCRYPTION_KEY")
		}
		return nil, errcode.New(errcode.InvalidArgument, "the decrypted values are not a JSON object")
	}
	values := make(map[string]string, len(payload))
	for k, v := range payload {
		if v != nil {
			values[k] = legacy.Stringify(v)
		}
	}
	return values, nil
}
