package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// The wire format of grpc.health.v1, encoded by hand so that the probe does
// not link google.golang.org/grpc:
//
//	message HealthCheckRequest  { string service = 1; }
//	message HealthCheckResponse { ServingStatus status = 1; }
//	enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
//
// Each message travels in a gRPC frame: one byte compressed flag, four bytes
// big-endian length, the message.

// healthCheckPath is the HTTP/2 :path of grpc.health.v1.Health/Check.
const healthCheckPath = "/grpc.health.v1.Health/Check"

// maxGRPCResponse bounds the response body read from a gRPC server; a
// HealthCheckResponse is a handful of bytes.
const maxGRPCResponse = 64 << 10

// servingStatusNames are the names of grpc.health.v1 ServingStatus values.
var servingStatusNames = [...]string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}

// servingStatusName names a ServingStatus value.
func servingStatusName(v int32) string {
	if v >= 0 && int(v) < len(servingStatusNames) {
		return servingStatusNames[v]
	}
	return "serving status " + strconv.Itoa(int(v))
}

// grpcCodeNames are the names of the gRPC status codes 0-16.
var grpcCodeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// grpcCodeName names a gRPC status code.
func grpcCodeName(code int) string {
	if code >= 0 && code < len(grpcCodeNames) {
		return grpcCodeNames[code]
	}
	return "code " + strconv.Itoa(code)
}

// encodeHealthCheckRequest returns the framed HealthCheckRequest for service.
func encodeHealthCheckRequest(service string) []byte {
	var msg []byte
	if service != "" { // proto3 omits a field holding its default
		msg = append(msg, 0x0a) // field 1, wire type 2 (length-delimited)
		msg = binary.AppendUvarint(msg, uint64(len(service)))
		msg = append(msg, service...)
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	return append(frame, msg...)
}

// errNoMessage: a unary response without its message.
var errNoMessage = errors.New("no response message")

// decodeGRPCFrame returns the single uncompressed message in body, the
// response of a unary call.
func decodeGRPCFrame(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, errNoMessage
	}
	if len(body) < 5 {
		return nil, fmt.Errorf("truncated frame header (%d bytes)", len(body))
	}
	switch body[0] {
	case 0:
	case 1:
		return nil, errors.New("compressed message, but no compression was offered")
	default:
		return nil, fmt.Errorf("bad frame flag %#x", body[0])
	}
	n := binary.BigEndian.Uint32(body[1:5])
	rest := body[5:]
	switch {
	case uint64(n) > uint64(len(rest)):
		return nil, fmt.Errorf("truncated message (%d of %d bytes)", len(rest), n)
	case uint64(n) < uint64(len(rest)):
		return nil, errors.New("more than one message in a unary response")
	}
	return rest, nil
}

// decodeHealthCheckResponse returns the status field of a
// HealthCheckResponse. Unknown fields are skipped, as protobuf requires; a
// missing status is UNKNOWN (0), the proto3 default; the last of repeated
// occurrences wins.
func decodeHealthCheckResponse(msg []byte) (int32, error) {
	var status int32
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, errors.New("bad field key")
		}
		msg = msg[n:]
		field, wire := key>>3, key&7
		if field == 0 || field > 1<<29-1 {
			return 0, fmt.Errorf("bad field number %d", field)
		}
		switch wire {
		case 0: // varint
			v, n := binary.Uvarint(msg)
			if n <= 0 {
				return 0, fmt.Errorf("field %d: bad varint", field)
			}
			msg = msg[n:]
			if field == 1 {
				status = int32(v) // enums are int32; negative values use 10 bytes
			}
			continue
		case 1: // fixed64
			if len(msg) < 8 {
				return 0, fmt.Errorf("field %d: truncated fixed64", field)
			}
			msg = msg[8:]
		case 2: // length-delimited
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return 0, fmt.Errorf("field %d: bad length", field)
			}
			msg = msg[n+int(l):]
		case 5: // fixed32
			if len(msg) < 4 {
				return 0, fmt.Errorf("field %d: truncated fixed32", field)
			}
			msg = msg[4:]
		default:
			return 0, fmt.Errorf("field %d: unsupported wire type %d", field, wire)
		}
		if field == 1 {
			return 0, fmt.Errorf("field 1 (status): wire type %d, want varint", wire)
		}
	}
	return status, nil
}

// decodeGRPCMessage decodes a grpc-message value: percent-encoded UTF-8.
// A value that does not decode is returned as it is.
func decodeGRPCMessage(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// grpcTimeout formats a timeout of ms milliseconds (at least 1) as a
// grpc-timeout header value of at most eight digits, as the protocol requires.
func grpcTimeout(ms int64) string {
	if ms < 1 {
		ms = 1
	}
	if ms > 99_999_999 {
		return strconv.FormatInt((ms+999)/1000, 10) + "S"
	}
	return strconv.FormatInt(ms, 10) + "m"
}
