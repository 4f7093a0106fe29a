package kms_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/awsjson"
	"github.com/lockwell/lockwell/localdev/kms"
)

func start(t *testing.T) (*kms.Server, *awskms.Client) {
	t.Helper()
	srv, err := kms.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	client := awskms.NewFromConfig(aws.Config{
		Region:      kms.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-only", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *awskms.Options) { o.BaseEndpoint = aws.String(srv.URL()) })
	return srv, client
}

func TestKeysAndAliasesThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	_, c := start(t)
	created, err := c.CreateKey(ctx, &awskms.CreateKeyInput{Description: aws.String("lockwell test")})
	require.NoError(t, err)
	id := aws.ToString(created.KeyMetadata.KeyId)
	assert.Equal(t, types.KeyStateEnabled, created.KeyMetadata.KeyState)
	assert.True(t, created.KeyMetadata.CreationDate != nil && !created.KeyMetadata.CreationDate.IsZero())

	_, err = c.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String("alias/lockwell"), TargetKeyId: aws.String(id)})
	require.NoError(t, err)
	_, err = c.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String("alias/lockwell"), TargetKeyId: aws.String(id)})
	var exists *types.AlreadyExistsException
	require.ErrorAs(t, err, &exists)
	_, err = c.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String("lockwell"), TargetKeyId: aws.String(id)})
	require.Error(t, err, "alias names start with alias/")

	aliases, err := c.ListAliases(ctx, &awskms.ListAliasesInput{})
	require.NoError(t, err)
	require.Len(t, aliases.Aliases, 1)
	assert.Equal(t, id, aws.ToString(aliases.Aliases[0].TargetKeyId))

	arn := aws.ToString(created.KeyMetadata.Arn)
	for _, ref := range []string{id, arn, "alias/lockwell", "arn:aws:kms:us-east-1:000000000000:alias/lockwell"} {
		d, err := c.DescribeKey(ctx, &awskms.DescribeKeyInput{KeyId: aws.String(ref)})
		require.NoError(t, err, ref)
		assert.Equal(t, id, aws.ToString(d.KeyMetadata.KeyId), ref)
	}
	_, err = c.DescribeKey(ctx, &awskms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)
}

func TestEncryptDecryptEnforcesContextAndKey(t *testing.T) {
	ctx := context.Background()
	srv, c := start(t)
	id, err := srv.CreateKey("one", "alias/one")
	require.NoError(t, err)
	other, err := srv.CreateKey("two", "")
	require.NoError(t, err)

	ec := map[string]string{"lockwell-aad": "lockwell:v1:abc:1"}
	plain := []byte("data key material 32 bytes long!")
	enc, err := c.Encrypt(ctx, &awskms.EncryptInput{KeyId: aws.String("alias/one"), Plaintext: plain, EncryptionContext: ec})
	require.NoError(t, err)
	assert.False(t, bytes.Contains(enc.CiphertextBlob, plain), "ciphertext does not contain the plaintext")

	dec, err := c.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	require.NoError(t, err, "decrypt without KeyId: the blob names its key")
	assert.True(t, bytes.Equal(plain, dec.Plaintext), "plaintext round-trips")
	assert.Contains(t, aws.ToString(dec.KeyId), id)

	var invalid *types.InvalidCiphertextException
	_, err = c.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"lockwell-aad": "lockwell:v1:abc:2"}})
	require.ErrorAs(t, err, &invalid, "another context")
	_, err = c.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, &invalid, "no context")
	damaged := append([]byte(nil), enc.CiphertextBlob...)
	damaged[len(damaged)-1] ^= 1
	_, err = c.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: damaged, EncryptionContext: ec})
	require.ErrorAs(t, err, &invalid, "altered blob")

	var incorrect *types.IncorrectKeyException
	_, err = c.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String(other)})
	require.ErrorAs(t, err, &incorrect, "pinned to another key")

	gen, err := c.GenerateDataKey(ctx, &awskms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	require.NoError(t, err)
	assert.Len(t, gen.Plaintext, 32)
	dec, err = c.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String("alias/one")})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(gen.Plaintext, dec.Plaintext), "generated key unwraps")

	gen, err = c.GenerateDataKey(ctx, &awskms.GenerateDataKeyInput{KeyId: aws.String(id), NumberOfBytes: aws.Int32(64)})
	require.NoError(t, err)
	assert.Len(t, gen.Plaintext, 64)
	_, err = c.GenerateDataKey(ctx, &awskms.GenerateDataKeyInput{KeyId: aws.String(id)})
	require.Error(t, err, "neither KeySpec nor NumberOfBytes")
}

func TestFaultInjectionAndCounts(t *testing.T) {
	ctx := context.Background()
	srv, c := start(t)
	id, err := srv.CreateKey("k", "")
	require.NoError(t, err)
	srv.InjectFault("GenerateDataKey", awsjson.Errorf("ThrottlingException", "Rate exceeded"))
	_, err = c.GenerateDataKey(ctx, &awskms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes256})
	var apiErr interface{ ErrorCode() string }
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "ThrottlingException", apiErr.ErrorCode())
	_, err = c.GenerateDataKey(ctx, &awskms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes256})
	require.NoError(t, err, "one fault, consumed")
	assert.Equal(t, 2, srv.Calls("GenerateDataKey"))
}

func TestListenRefusesNonLoopback(t *testing.T) {
	_, err := kms.Listen("0.0.0.0:0")
	require.Error(t, err)
}

func TestAddKeyKeepsCiphertextsReadableAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	material := bytes.Repeat([]byte{7}, 32)
	const id = "0b7e6a56-5f2c-4c57-9a43-4c7f0f0e1a11"
	srv1, c1 := start(t)
	require.NoError(t, srv1.AddKey(id, "alias/dev", material))
	require.Error(t, srv1.AddKey(id, "", material), "ids are unique")
	enc, err := c1.Encrypt(ctx, &awskms.EncryptInput{KeyId: aws.String("alias/dev"), Plaintext: []byte("k")})
	require.NoError(t, err)

	srv2, c2 := start(t)
	require.NoError(t, srv2.AddKey(id, "alias/dev", material))
	dec, err := c2.Decrypt(ctx, &awskms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.NoError(t, err)
	assert.Equal(t, "k", string(dec.Plaintext))
	require.Error(t, srv2.AddKey("not-a-uuid", "", material))
	require.Error(t, srv2.AddKey("1b7e6a56-5f2c-4c57-9a43-4c7f0f0e1a11", "", material[:16]))
}
