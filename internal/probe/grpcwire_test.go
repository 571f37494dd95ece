package probe

import (
	"bytes"
	"encoding/binary"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The hand encoder must produce exactly what the protobuf library produces.
func TestEncodeHealthCheckRequestMatchesProtobuf(t *testing.T) {
	for _, service := range []string{"", "orders", "grpc.health.v1.Health", string(bytes.Repeat([]byte("s"), 300))} {
		want, err := proto.Marshal(&healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatal(err)
		}
		frame := encodeHealthCheckRequest(service)
		if frame[0] != 0 || binary.BigEndian.Uint32(frame[1:5]) != uint32(len(want)) || !bytes.Equal(frame[5:], want) {
			t.Errorf("service %q: frame % x, want message % x", service, frame, want)
		}
	}
}

func TestDecodeHealthCheckResponse(t *testing.T) {
	for _, st := range []healthpb.HealthCheckResponse_ServingStatus{0, 1, 2, 3, 7, -1} {
		msg, err := proto.Marshal(&healthpb.HealthCheckResponse{Status: st})
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeHealthCheckResponse(msg)
		if err != nil || got != int32(st) {
			t.Errorf("status %v: got %d, %v", st, got, err)
		}
	}
	// Unknown fields of every wire type are skipped; the last status wins.
	var msg []byte
	msg = protowire.AppendTag(msg, 1, protowire.VarintType)
	msg = protowire.AppendVarint(msg, 2)
	msg = protowire.AppendTag(msg, 2, protowire.BytesType)
	msg = protowire.AppendBytes(msg, []byte("extra"))
	msg = protowire.AppendTag(msg, 3, protowire.Fixed32Type)
	msg = protowire.AppendFixed32(msg, 7)
	msg = protowire.AppendTag(msg, 4, protowire.Fixed64Type)
	msg = protowire.AppendFixed64(msg, 7)
	msg = protowire.AppendTag(msg, 1, protowire.VarintType)
	msg = protowire.AppendVarint(msg, 1)
	if got, err := decodeHealthCheckResponse(msg); err != nil || got != 1 {
		t.Errorf("with unknown fields: got %d, %v; want 1", got, err)
	}
	if got := servingStatusName(7); got != "serving status 7" {
		t.Errorf("servingStatusName(7) = %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	frames := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no response message"},
		{"short header", []byte{0, 0, 0}, "truncated frame header (3 bytes)"},
		{"compressed", []byte{1, 0, 0, 0, 0}, "compressed message, but no compression was offered"},
		{"bad flag", []byte{9, 0, 0, 0, 0}, "bad frame flag 0x9"},
		{"truncated", []byte{0, 0, 0, 0, 5, 8}, "truncated message (1 of 5 bytes)"},
		{"two messages", []byte{0, 0, 0, 0, 2, 8, 1, 0, 0, 0, 0, 0}, "more than one message in a unary response"},
		{"huge length", []byte{0, 0xff, 0xff, 0xff, 0xff}, "truncated message (0 of 4294967295 bytes)"},
	}
	for _, tt := range frames {
		if _, err := decodeGRPCFrame(tt.in); err == nil || err.Error() != tt.want {
			t.Errorf("frame %s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	msgs := []struct {
		name string
		in   []byte
		want string
	}{
		{"bad key", []byte{0x80}, "bad field key"},
		{"field zero", []byte{0x00, 0x01}, "bad field number 0"},
		{"bad varint", []byte{0x08, 0x80}, "field 1: bad varint"},
		{"status as bytes", []byte{0x0a, 0x01, 0x01}, "field 1 (status): wire type 2, want varint"},
		{"bad length", []byte{0x12, 0x05, 0x01}, "field 2: bad length"},
		{"group", []byte{0x13}, "field 2: unsupported wire type 3"},
		{"short fixed32", []byte{0x15, 0x01}, "field 2: truncated fixed32"},
		{"short fixed64", []byte{0x11, 0x01}, "field 2: truncated fixed64"},
	}
	for _, tt := range msgs {
		if _, err := decodeHealthCheckResponse(tt.in); err == nil || err.Error() != tt.want {
			t.Errorf("message %s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestGRPCTimeoutHeader(t *testing.T) {
	for ms, want := range map[int64]string{0: "1m", 1: "1m", 1000: "1000m", 99_999_999: "99999999m", 100_000_000: "100000S"} {
		if got := grpcTimeout(ms); got != want {
			t.Errorf("grpcTimeout(%d) = %q, want %q", ms, got, want)
		}
	}
}

// FuzzDecodeGRPCResponse feeds arbitrary response bodies to the decoders,
// which see what a (possibly hostile) server sends.
func FuzzDecodeGRPCResponse(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 8, 1})
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 3, 0x12, 0x01, 0x00})
	f.Add([]byte{0, 0, 0, 0, 11, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := decodeGRPCFrame(body)
		if err != nil {
			return
		}
		got, err := decodeHealthCheckResponse(msg)
		if err != nil {
			return
		}
		// Whatever the hand decoder accepts, protobuf agrees on.
		var want healthpb.HealthCheckResponse
		if perr := proto.Unmarshal(msg, &want); perr == nil && int32(want.Status) != got {
			t.Fatalf("% x: decoded %d, protobuf says %d", msg, got, want.Status)
		}
		_ = servingStatusName(got)
	})
}
