package dynamostore

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lockwell/lockwell/shared/errcode"
)

// errorCodes is the one table from DynamoDB error codes to Lockwell's.
// Codes not listed are internal, except HTTP 5xx answers, which are
// unavailable; failures without a service error code (connection refused,
// reset, timeouts) are unavailable. Unavailable is what the retry policy
// retries. A failed ConditionExpression is failed_precondition here; each
// operation then tells the caller which condition failed (not_found,
// already_exists or failed_precondition).
var errorCodes = map[string]errcode.Code{
	"ProvisionedThroughputExceededException":   errcode.Unavailable,
	"ThrottlingException":                      errcode.Unavailable,
	"RequestLimitExceeded":                     errcode.Unavailable,
	"TransactionConflictException":             errcode.Unavailable,
	"TransactionInProgressException":           errcode.Unavailable,
	"InternalServerError":                      errcode.Unavailable,
	"ServiceUnavailable":                       errcode.Unavailable,
	"LimitExceededException":                   errcode.Unavailable,
	"ConditionalCheckFailedException":          errcode.FailedPrecondition,
	"ItemCollectionSizeLimitExceededException": errcode.TooLarge,
	"ResourceNotFoundException":                errcode.Internal, // the table or an index is missing: misconfiguration
	"AccessDeniedException":                    errcode.Internal, // IAM misconfiguration
	"UnrecognizedClientException":              errcode.Internal,
	"ValidationException":                      errcode.Internal, // a bug, except the item size case below
}

// classify maps a DynamoDB client error to an errcode once. Messages name
// the operation and the service's error code; they never contain item
// contents.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		ec := apiErr.ErrorCode()
		code, ok := errorCodes[ec]
		var resp *smithyhttp.ResponseError
		if !ok && errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
			code, ok = errcode.Unavailable, true
		}
		if !ok {
			code = errcode.Internal
		}
		if ec == "ValidationException" && strings.Contains(apiErr.ErrorMessage(), "size") {
			code = errcode.TooLarge
			return errcode.Wrap(code, err, "DynamoDB could not %s: the stored secret would exceed the item size limit", what)
		}
		return errcode.Wrap(code, err, "DynamoDB could not %s: %s", what, ec)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errcode.Wrap(errcode.Unavailable, err, "DynamoDB could not %s in time", what)
	}
	return errcode.Wrap(errcode.Unavailable, err, "DynamoDB could not %s: the service did not answer", what)
}

// conditionFailed reports whether err is a failed ConditionExpression and
// returns the item as it was, when the service sent it
// (ReturnValuesOnConditionCheckFailure; dynalite never does).
func conditionFailed(err error) (bool, map[string]types.AttributeValue) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true, ccf.Item
	}
	return false, nil
}

// mayHaveApplied reports whether a failed call may nevertheless have been
// applied: a timeout, a lost connection or a 5xx may; a 4xx answer
// (throttling, a failed condition, validation) is a refusal and was not.
func mayHaveApplied(err error) bool {
	if err == nil {
		return false
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= 400 && resp.HTTPStatusCode() < 500 {
		return false
	}
	return true
}
